"""Every user-visible sentence, in French, in one place so the city can edit its wording.

The orientation values (phone, hours, address, website) are settings (``GUICHET_ORIENTATION_*``);
the demo values are fictional (phone numbers in the range reserved for fiction).
"""

from __future__ import annotations

from pydantic import BaseModel


class Orientation(BaseModel):
    desk: str = "l'accueil de la mairie de Sainte-Clarisse-des-Oliviers"
    phone: str = "01 99 00 10 00"
    hours: str = "du lundi au vendredi, de 8 h 30 à 12 h et de 13 h 30 à 17 h"
    address: str = "Place de la République"
    website: str = "https://www.sainte-clarisse.example"

    def text(self) -> str:
        return (
            f"Je n'ai pas trouvé la réponse dans les documents de la commune. "
            f"Adressez-vous à {self.desk} ({self.address}), par téléphone au {self.phone}, "
            f"{self.hours}, ou consultez {self.website}."
        )


REFUSAL_REASON_NO_MATCH = "aucun document pertinent trouvé"
REFUSAL_REASON_MODEL = "le modèle indique que les sources ne répondent pas"
REFUSAL_REASON_NOTHING_SAFE = "aucune phrase générée n'a passé les vérifications"
REFUSAL_REASON_TOO_LONG = "question trop longue"
REFUSAL_REASON_EMPTY = "question vide"
REFUSAL_REASON_ERROR = "erreur pendant la génération"
REFUSAL_REASON_TIMEOUT = "délai de génération dépassé"

QUOTED_INTRO = "Voici l'extrait le plus pertinent des documents de la commune :"

QUESTION_TOO_LONG = (
    "Votre question est trop longue ({n} caractères, maximum {max}). Raccourcissez-la."
)
QUESTION_EMPTY = "Votre question est vide."
BUSY = "Le service est très sollicité. Merci de réessayer dans {seconds} secondes."
RATE_LIMITED = "Trop de questions en peu de temps. Merci de patienter {seconds} secondes."
QUEUE_POSITION = "Votre question est en file d'attente (position {position})."
DISCLAIMER = "Cet assistant peut se tromper, vérifiez les sources."
PRIVACY_NOTICE = (
    "N'indiquez pas de données personnelles (nom, adresse, numéro de sécurité sociale…)."
)

VERDICT_LABELS = {
    "answered": "vérifié",
    "partial": "partiel",
    "quoted": "extrait cité",
    "refused": "pas de réponse dans les documents",
}

# --- public HTTP API (ui/api.py) ---------------------------------------------------------------
UNAVAILABLE = (
    "L'assistant n'est pas disponible pour le moment. Merci de réessayer plus tard ou de "
    "contacter l'accueil de la mairie."
)
INTERNAL_ERROR = "Une erreur est survenue pendant la préparation de la réponse. Merci de réessayer."
INVALID_REQUEST = "Requête invalide : {details}."
INVALID_FIELD = {
    "json_invalid": "le corps de la requête n'est pas un JSON valide",
    "missing": "le champ « {field} » est obligatoire",
    "string_type": "le champ « {field} » doit être du texte",
    "string_too_long": "le champ « {field} » est trop long",
    "list_type": "le champ « {field} » doit être une liste",
    "too_long": "le champ « {field} » contient trop d'éléments",
    "literal_error": "la valeur du champ « {field} » n'est pas permise",
    "enum": "la valeur du champ « {field} » n'est pas permise",
    "extra_forbidden": "le champ « {field} » n'est pas attendu",
    "model_attributes_type": "le corps de la requête doit être un objet JSON",
    "dict_type": "le corps de la requête doit être un objet JSON",
    "model_type": "le corps de la requête doit être un objet JSON",
}
INVALID_FIELD_OTHER = "le champ « {field} » est invalide"
BODY_TOO_LARGE = "Requête trop volumineuse (au plus {max} octets)."
NOT_FOUND_HTTP = "Adresse introuvable."
METHOD_NOT_ALLOWED = "Méthode non permise pour cette adresse."
FEEDBACK_UNAVAILABLE = "L'enregistrement des avis n'est pas disponible pour le moment."
FEEDBACK_UNKNOWN_ANSWER = (
    "Réponse inconnue ou trop ancienne : l'avis ne peut pas lui être rattaché."
)
FEEDBACK_THANKS = "Merci pour votre avis."
NOT_READY = {
    "model": "modèle de langue non chargé",
    "qdrant": "base documentaire (Qdrant) injoignable",
    "empty": "aucun document indexé",
}

# --- citizen widget (ui/widget/widget.js; injected by the server into /widget.js) -------------
WIDGET = {
    "bubble": "Une question ?",
    "open": "Poser une question à l'assistant de la mairie",
    "title": "Assistant de la mairie",
    "close": "Fermer l'assistant",
    "welcome": (
        "Bonjour ! Posez votre question sur les démarches et les services de la commune. "
        "Les réponses citent les documents officiels de la mairie."
    ),
    "label": "Votre question",
    "hint": "Entrée pour envoyer, Maj + Entrée pour aller à la ligne.",
    "send": "Envoyer",
    "thinking": "Recherche dans les documents de la commune…",
    "sources": "Sources",
    "source_no_link": "document interne, sans lien public",
    "updated": "mis à jour le {date}",
    "done": "Réponse terminée.",
    "network_error": "Impossible de joindre l'assistant. Vérifiez votre connexion et réessayez.",
    "you": "Vous",
    "assistant": "Assistant",
    "feedback_question": "Cette réponse vous a-t-elle aidé ?",
    "feedback_up": "Oui, utile",
    "feedback_down": "Non, pas utile",
    "privacy": PRIVACY_NOTICE,
    "disclaimer": DISCLAIMER,
    "queue": QUEUE_POSITION,
    "feedback_thanks": FEEDBACK_THANKS,
}
