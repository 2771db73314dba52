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

QUESTION_TOO_LONG = "Votre question est trop longue ({n} caractères, maximum {max}). Raccourcissez-la."
QUESTION_EMPTY = "Votre question est vide."
BUSY = "Le service est très sollicité. Merci de réessayer dans {seconds} secondes."
RATE_LIMITED = "Trop de questions en peu de temps. Merci de patienter {seconds} secondes."
QUEUE_POSITION = "Votre question est en file d'attente (position {position})."
DISCLAIMER = "Cet assistant peut se tromper, vérifiez les sources."
PRIVACY_NOTICE = "N'indiquez pas de données personnelles (nom, adresse, numéro de sécurité sociale…)."

VERDICT_LABELS = {
    "answered": "vérifié",
    "partial": "partiel",
    "quoted": "extrait cité",
    "refused": "pas de réponse dans les documents",
}
