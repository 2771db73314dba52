"""Every user-visible sentence, in French, in one place so the city can edit its wording.

The orientation values (phone, hours, address, website) are settings (``GUICHET_ORIENTATION_*``);
the demo values are fictional (phone numbers in the range reserved for fiction).
"""

from __future__ import annotations

from pydantic import BaseModel

from assistant.core.answer import Reason


class Orientation(BaseModel):
    desk: str = "l'accueil de la mairie de Sainte-Clarisse-des-Oliviers"
    phone: str = "01 99 00 10 00"
    hours: str = "du lundi au vendredi, de 8 h 30 à 12 h et de 13 h 30 à 17 h"
    address: str = "Place de la République"
    website: str = "https://www.sainte-clarisse.example"

    def text(self, lead: str | None = None) -> str:
        """``lead``: why there is no answer (``REFUSAL_LEAD``); by default, not found."""
        return (
            f"{lead or REFUSAL_LEAD[Reason.no_match]} "
            f"Adressez-vous à {self.desk} ({self.address}), par téléphone au {self.phone}, "
            f"{self.hours}, ou consultez {self.website}."
        )


# Why there is no answer, in the citizen's terms: the first words of a refusal, per reason.
REFUSAL_LEAD: dict[Reason, str] = {
    Reason.no_match: "Je n'ai pas trouvé la réponse dans les documents de la commune.",
    Reason.injection: (
        "Je réponds seulement aux questions sur les démarches et les services de la commune, "
        "à partir de ses documents."
    ),
    Reason.timeout: (
        "Le service est très sollicité : la réponse n'a pas pu être préparée à temps. "
        "Réessayez dans un instant."
    ),
    Reason.generation_error: (
        "Une erreur est survenue pendant la préparation de la réponse. Réessayez dans un instant."
    ),
    Reason.model_declined: "Les pages trouvées ne semblent pas répondre à votre question.",
    Reason.nothing_safe: "Je n'ai pas pu tirer des documents une réponse sûre à votre question.",
    Reason.off_subject: "Les documents de la commune ne semblent pas traiter de ce sujet.",
    Reason.off_point: (
        "Les documents trouvés parlent de ce sujet, mais sans l'information précise demandée "
        "(prix, horaires, numéro…)."
    ),
}
# Shown with a refusal whose retrieved pages cover the question's topic.
SUGGESTED_PAGES = "Pages proches, qui ne répondent peut-être pas directement à votre question :"
SUGGESTED_CONTACT = "Contact indiqué par « {title} » :"
RETRY = "Réessayer"


def refusal_lead(reasons: list[Reason]) -> str:
    default = REFUSAL_LEAD[Reason.no_match]
    return next((REFUSAL_LEAD[r] for r in reasons if r in REFUSAL_LEAD), default)


REFUSAL_REASON_TOO_LONG = "question trop longue"
REFUSAL_REASON_EMPTY = "question vide"

# Staff-facing wording of each reason code (the desk's details, the CLI, the audit export).
REASON_TEXT: dict[Reason, str] = {
    Reason.no_match: "aucun document pertinent trouvé",
    Reason.model_declined: "le modèle indique que les sources ne répondent pas",
    Reason.nothing_safe: "aucune phrase générée n'a passé les vérifications",
    Reason.generation_error: "erreur pendant la génération",
    Reason.timeout: "délai de génération dépassé",
    Reason.off_subject: "aucune phrase choisie ne porte sur le sujet de la question",
    Reason.off_point: (
        "les extraits portent sur le sujet mais ne contiennent pas l'information demandée "
        "(prix, horaires, durée, numéro…)"
    ),
    Reason.injection: "question qui tente de modifier les consignes de l'assistant",
    Reason.sentences_dropped: "phrase(s) écartée(s) par les vérifications",
    Reason.cached: "réponse déjà calculée (cache)",
    Reason.busy_short: "réponse courte : service très sollicité, extrait exact du document",
}


def reason_text(reason: Reason, detail: str = "") -> str:
    text = REASON_TEXT[reason]
    return f"{text} : {detail}" if detail else text


INGEST_DISK_FULL = (
    "Espace disque insuffisant dans {path} : l'ingestion s'est arrêtée sans rien corrompre. "
    "Libérez de la place puis relancez la même commande : elle reprendra où elle s'était arrêtée."
)
# Why a file met during an ingest was not read (ingest report, status "skipped").
INGEST_SKIPPED = {
    "format": "format non pris en charge ({suffix})",
    "hidden": "fichier ou dossier caché",
    "default_pattern": "gabarit du site, pas du contenu (motif par défaut « {pattern} »)",
    "ignore_file": "ignoré par {file} (motif « {pattern} »)",
}
# Shown beside a source whose text was recognised from a scan (OCR).
SOURCE_OCR = "texte reconnu automatiquement"

QUOTED_INTRO = "Voici l'extrait le plus pertinent des documents de la commune :"

QUESTION_TOO_LONG = (
    "Votre question est trop longue ({n} caractères, maximum {max}). Raccourcissez-la."
)
QUESTION_EMPTY = "Votre question est vide."
HISTORY_TOO_LONG = (
    "La conversation envoyée est trop longue ({n} caractères, maximum {max}) : "
    "commencez une nouvelle conversation."
)
BUSY = "Le service est très sollicité. Merci de réessayer dans {seconds} secondes."
RATE_LIMITED = "Trop de questions en peu de temps. Merci de patienter {seconds} secondes."
QUEUE_POSITION = "Votre question est en file d'attente (position {position})."
DISCLAIMER = "Cet assistant peut se tromper, vérifiez les sources."
PRIVACY_NOTICE = (
    "N'indiquez pas de données personnelles (nom, adresse, numéro de sécurité sociale…)."
)

# What the checks established, per answer mode: an exact excerpt is not a paraphrase, and
# neither is called "vérifié" beyond what was proven.
VERDICT_LABELS = {
    "quote": {
        "answered": "extrait exact du document, sur le sujet de la question",
        "partial": "extrait exact du document, sur le sujet de la question (phrases écartées)",
        "quoted": "extrait exact du document, qui ne répond peut-être pas entièrement",
        "refused": "pas de réponse dans les documents",
    },
    "paraphrase": {
        "answered": "reformulé, vérifié mot à mot avec les sources",
        "partial": "reformulé, vérifié mot à mot avec les sources (réponse partielle)",
        "quoted": "extrait exact du document, qui ne répond peut-être pas entièrement",
        "refused": "pas de réponse dans les documents",
    },
}


def verdict_label(verdict: str, mode: str = "quote") -> str:
    return VERDICT_LABELS.get(mode, VERDICT_LABELS["quote"]).get(verdict, verdict)


QUOTE_LEAD = "Voici ce que disent les documents de la commune :"
OFF_POINT_LEAD = (
    "Les documents de la commune ne donnent pas précisément ce que vous demandez ; "
    "voici le passage le plus proche :"
)

# Streamed before the model's answer (assistant.answering.preview): an exact excerpt, not
# yet the answer; replaced or completed when the verified answer arrives.
PREVIEW_LABEL = "Extrait le plus proche, en attendant la réponse vérifiée"
# The model would not have answered in time (assistant.generation.pace): the exact excerpt
# alone, never presented as a verified answer.
BUSY_SHORT_LABEL = "réponse courte : service très sollicité, extrait exact du document"
BUSY_SHORT_LEAD = (
    "Réponse courte, le service est très sollicité : voici le passage des documents de la "
    "commune le plus proche de votre question."
)

# --- public HTTP API (ui/api.py) ---------------------------------------------------------------
UNAVAILABLE = (
    "L'assistant n'est pas disponible pour le moment. Merci de réessayer plus tard ou de "
    "contacter l'accueil de la mairie."
)
# Close documents (assistant.retrieval.choices): the asker picks one, the same question is
# then asked on that document alone.
CHOICES_LEAD = "Votre question porte sur :"
CHOICE_UNKNOWN = "Ce document n'est plus disponible : reposez votre question."
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
    "string_pattern_mismatch": "la valeur du champ « {field} » n'est pas permise",
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
OPS_TOKEN_REQUIRED = "Accès réservé à l'exploitation : jeton manquant ou invalide."
HTTP_ERROR = "La requête n'a pas pu être traitée (code {status})."
BODY_UNREADABLE = "le corps de la requête n'a pas pu être lu (JSON trop imbriqué ou illisible)"
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
    "source_ocr": SOURCE_OCR,
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
    "new_conversation": "Nouvelle conversation",
    "new_conversation_done": "Nouvelle conversation : les questions précédentes sont oubliées.",
    "writing": "Réponse en cours…",
    "stop": "Arrêter",
    "stopped": "Réponse interrompue.",
    "retry": RETRY,
    "counter": "{n} / {max} caractères",
    "too_long": QUESTION_TOO_LONG,
    "excerpt": "Voir l'extrait",
    "choices": CHOICES_LEAD,
    "choice_asked": "{question} (sur « {title} »)",
    "months": [
        *["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"],
        *["septembre", "octobre", "novembre", "décembre"],
    ],
}

# --- staff desk (ui/desk.py, ui/desk_render.py, ui/auth.py, ui/corpus_status.py) ---------------
FEEDBACK_TAGS = ["sources fiables", "réponse incomplète", "source manquante", "information erronée"]
DESK = {
    "title": "Guichet — poste d'accueil",
    "heading": "Assistant du guichet d'accueil",
    "intro": "Réponses tirées des documents de la commune, chaque phrase vérifiée et sourcée.",
    "login_message": "Espace réservé aux agents d'accueil. Connectez-vous avec vos identifiants.",
    "tab_answer": "Répondre",
    "tab_stats": "Statistiques",
    "tab_corpus": "Corpus",
    "question_label": "Question de l'usager",
    "question_placeholder": "Ex. : Quels papiers pour une carte d'identité ?",
    "ask": "Rechercher la réponse",
    "answer_heading": "Réponse",
    "sources_heading": "Sources",
    "searching": "Recherche dans les documents…",
    "writing": "Rédaction et vérification de la réponse…",
    "done": "Réponse terminée en {seconds} s.",
    "error": "Une erreur est survenue : {error}",
    "not_ready": "L'assistant n'est pas prêt : {error}",
    "details": "Détail des vérifications",
    "resolved": "question de suite, lue avec la conversation : « {text} »",
    "retry_hint": "Le service était très sollicité : reposez la question dans un instant.",
    "new_thread": "Nouvelle conversation (nouvel usager)",
    "choices": CHOICES_LEAD + " (la question est reposée sur le document choisi)",
    "new_thread_done": (
        "Nouvelle conversation : les questions précédentes ne sont plus prises en compte."
    ),
    "details_empty": "Aucune vérification à afficher.",
    "dropped_heading": "Phrases écartées",
    "delivered_heading": "Phrases retenues",
    "reasons": "Motifs",
    "check_passed": "réussie",
    "check_failed": "échouée",
    "support_score": "score de support {score:.2f}",
    "copy": "Copier la réponse",
    "copied": "Réponse copiée.",
    "citizen": "Version à remettre au citoyen",
    "citizen_sources": "Sources :",
    "citizen_no_link": "document de la mairie",
    "history": "Historique de la session",
    "history_empty": "Aucune question posée pendant cette session.",
    "feedback_heading": "Votre avis sur cette réponse",
    "feedback_tags": "Étiquettes",
    "feedback_comment": "Commentaire (facultatif)",
    "feedback_up": "👍 Réponse utile",
    "feedback_down": "👎 Réponse à revoir",
    "feedback_saved": "Avis enregistré, merci.",
    "feedback_no_answer": "Posez d'abord une question : l'avis porte sur la dernière réponse.",
    "feedback_error": "L'avis n'a pas pu être enregistré : {error}",
    "source_card": "Source {n}",
    "source_page": "page {page}",
    "source_ocr": SOURCE_OCR + " (confiance {confidence:.0f} %)",
    "source_updated": "mis à jour le {date}",
    "source_unknown_date": "date de mise à jour inconnue",
    "source_old": "Source ancienne : dernière mise à jour il y a plus de {days} jours, à vérifier.",
    "source_not_cited": "consultée, non citée",
    "no_sources": "Aucune source consultée.",
    "verdict": "Verdict : {label}",
    "startup_error": "L'assistant ne fonctionne pas : {error}. Prévenez l'équipe technique.",
    "stats_refresh": "Actualiser",
    "stats_days": "Questions par jour",
    "stats_summary": (
        "Questions : {total} · {answered:.0%} avec réponse · {refused:.0%} sans réponse · "
        "latence médiane {p50} s, p95 {p95} s · {up} 👍 / {down} 👎"
    ),
    "stats_empty": "Aucune question enregistrée pour l'instant.",
    "stats_top": "Questions les plus fréquentes",
    "stats_gaps": "Manques de contenu (questions sans réponse ou mal notées, regroupées)",
    "stats_gaps_empty": "Aucun manque repéré.",
    "stats_export": "Exporter en CSV",
    "col_day": "jour",
    "col_questions": "questions",
    "col_question": "question",
    "col_count": "nombre",
    "col_examples": "exemples",
    "col_why": "motif",
    "gap_refused": "sans réponse",
    "gap_down": "mal notée",
    "corpus_refresh": "Actualiser",
    "corpus_summary": (
        "{documents} documents · {chunks} passages indexés (collection « {collection} »)"
    ),
    "corpus_last_ingest": "Dernière ingestion : {when} — {summary}",
    "corpus_no_report": "Aucun rapport d'ingestion enregistré (lancez `guichet ingest`).",
    "corpus_failed": "Fichiers en échec",
    "corpus_failed_none": "Aucun fichier en échec lors de la dernière ingestion.",
    "corpus_error": "Index illisible : {error}",
    "col_file": "fichier",
    "col_reason": "motif",
    "login_title": "Connexion — poste d'accueil",
    "login_user": "Identifiant",
    "login_password": "Mot de passe",
    "login_submit": "Se connecter",
    "login_failed": "Identifiant ou mot de passe incorrect.",
    "login_locked": (
        "Trop d'essais infructueux depuis ce poste pour cet identifiant : réessayez dans "
        "{seconds} secondes."
    ),
    "login_busy": "Trop de connexions en cours : réessayez dans quelques secondes.",
    "login_rate_limited": (
        "Trop de tentatives de connexion depuis ce poste : réessayez dans {seconds} secondes."
    ),
    "login_forbidden": "Connexion refusée : le formulaire ne provient pas de ce site.",
    "login_expired": "Votre session a expiré : reconnectez-vous.",
    "logged_out": "Vous êtes déconnecté.",
    "logout": "Se déconnecter",
    "demo_password_file": (
        "Aucun agent configuré (GUICHET_STAFF_USERS) : identifiant « {login} », mot de passe "
        "provisoire de cette exécution dans le fichier {path} (lisible par vous seul)"
    ),
    "demo_password": (
        "Aucun agent configuré (GUICHET_STAFF_USERS) : identifiant « {login} », mot de passe "
        "provisoire pour cette exécution : {password}"
    ),
}

# Errors and notes of the maintainers' measuring commands (guichet eval / calibrate / bench).
EVAL_CLI = {
    "no_results": "pas de results.jsonl dans {folder}",
    "no_config": "fichier de configuration introuvable : {path}",
    "judge_sheet": "feuille : {path} (et judge.html)",
    "load_target": "indiquez soit --url (un guichet qui tourne), soit --spawn",
    "desk_llm": "--llm : small ou default",
}

# Documents while serving (the desk's Documents tab, validated answers, ingest jobs): in their
# own file to keep this one readable; edit them there.
from assistant.core.messages_documents import DOCUMENTS, JOB_STATUS  # noqa: E402, F401
