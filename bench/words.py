"""French-like text for the data set: titles, keywords, messages and articles built from a word
list, varied enough that no two deliveries are the same and long enough to be real articles.

Paragraphs are built once into a pool and articles are assembled from it, so that a million
rows cost seconds, not minutes. Each use of a paragraph in an article draws its nouns anew:
two deliveries never share a run of five words (a phrase of the originality check) but by
chance, as two real articles of an agency do not; with the same paragraphs everywhere, every
text would be a copy of a thousand others.
"""

from __future__ import annotations

import random

DETERMINERS = ("le", "la", "les", "un", "une", "des", "ce", "cette", "chaque", "notre", "votre",
               "leur", "son", "sa", "ses", "plusieurs", "quelques", "tout le", "toute la")
NOUNS = (
    "marché", "client", "produit", "service", "entreprise", "équipe", "projet", "article",
    "contenu", "site", "page", "lecteur", "marque", "boutique", "saison", "collection", "tissu",
    "pagne", "recette", "cuisine", "hôtel", "chambre", "voyage", "plage", "ville", "quartier",
    "région", "coopérative", "récolte", "café", "cacao", "soja", "karité", "artisan", "atelier",
    "formation", "école", "étudiant", "santé", "pharmacie", "banque", "crédit", "épargne",
    "téléphone", "réseau", "application", "paiement", "livraison", "commande", "prix", "offre",
    "qualité", "confiance", "conseil", "question", "réponse", "solution", "besoin", "idée",
    "histoire", "tradition", "culture", "fête", "musique", "festival", "journée", "semaine",
    "matin", "soir", "famille", "enfant", "parent", "partenaire", "fournisseur", "stock",
    "emballage", "étiquette", "rayon", "vitrine", "moteur de recherche", "mot-clé", "lien",
    "référencement", "newsletter", "abonné", "communiqué", "presse", "journaliste", "événement",
    "lancement", "innovation", "énergie", "soleil", "panneau", "eau", "puits", "route", "taxi",
    "moto", "agriculture", "élevage", "pêche", "poisson", "légume", "fruit", "mangue", "ananas",
    "igname", "manioc", "riz", "maïs", "restaurant", "menu", "plat", "saveur", "parfum", "savon",
    "beauté", "coiffure", "mode", "couleur", "motif", "modèle", "taille", "tendance", "budget",
)
ADJECTIVES = (
    "local", "durable", "simple", "pratique", "nouveau", "ancien", "grand", "petit", "rapide",
    "précis", "clair", "solide", "fiable", "naturel", "frais", "authentique", "moderne",
    "traditionnel", "populaire", "essentiel", "important", "utile", "agréable", "chaleureux",
    "coloré", "élégant", "discret", "accessible", "abordable", "complet", "original", "régional",
    "quotidien", "professionnel", "familial", "artisanal", "biologique", "numérique", "mobile",
)
VERBS = (
    "propose", "présente", "offre", "choisit", "prépare", "découvre", "améliore", "facilite",
    "accompagne", "rassure", "attire", "fidélise", "explique", "raconte", "montre", "garantit",
    "simplifie", "transforme", "valorise", "protège", "développe", "renforce", "organise",
    "livre", "vend", "fabrique", "cultive", "récolte", "partage", "accueille", "conseille",
    "compare", "mesure", "vérifie", "répond à", "s'adapte à", "compte sur", "mise sur",
)
ADVERBS = ("aujourd'hui", "désormais", "souvent", "toujours", "rapidement", "simplement",
           "chaque jour", "en ville", "à Lomé", "à Kpalimé", "à Atakpamé", "au marché",
           "en ligne", "sur place", "depuis longtemps", "avec soin", "sans attendre")
CONNECTORS = ("Ensuite,", "Par ailleurs,", "De plus,", "Enfin,", "En effet,", "Ainsi,",
              "Pourtant,", "Au contraire,", "Dans ce cas,", "Pour cela,", "Bien sûr,",
              "D'abord,", "En pratique,", "Concrètement,", "Surtout,")
TOPICS = (
    "pagne wax", "café d'Atakpamé", "boulangerie de quartier", "hôtel en bord de mer",
    "coopérative de karité", "livraison à domicile", "paiement mobile", "panneaux solaires",
    "cuisine togolaise", "tourisme à Kpalimé", "formation professionnelle", "savon artisanal",
    "jus de mangue", "location de motos", "pharmacie de garde", "épargne des familles",
    "école de couture", "festival de musique", "restaurant de poisson", "agriculture bio",
    "commerce en ligne", "référencement local", "newsletter mensuelle", "rentrée scolaire",
    "mode africaine", "salon de coiffure", "cacao équitable", "eau potable", "marché de nuit",
)
TITLE_PATTERNS = (
    "Comment choisir son {t}", "Le guide du {t} en {y}", "Cinq idées autour du {t}",
    "Pourquoi le {t} séduit les clients", "Tout savoir sur le {t}", "Notre nouveau {t}",
    "{T} : les erreurs à éviter", "{T} : ce qui change cette année", "Le {t} expliqué simplement",
    "Dix questions sur le {t}", "Réussir son projet de {t}", "{T} : la méthode pas à pas",
)


NOUN_SLOT = "\x00"


def sentence(rnd: random.Random, words: int | None = None, *, slots: bool = False) -> str:
    """One French-like sentence of about `words` words; with `slots`, each noun is NOUN_SLOT,
    for the article to fill."""
    target = words or rnd.randint(9, 22)
    parts: list[str] = []
    if rnd.random() < 0.25:
        parts.append(rnd.choice(CONNECTORS))
    while len(" ".join(parts).split()) < target:
        parts += [rnd.choice(DETERMINERS), NOUN_SLOT if slots else rnd.choice(NOUNS)]
        if rnd.random() < 0.6:
            parts.append(rnd.choice(ADJECTIVES))
        parts.append(rnd.choice(VERBS))
        parts += [rnd.choice(DETERMINERS), NOUN_SLOT if slots else rnd.choice(NOUNS)]
        if rnd.random() < 0.4:
            parts.append(rnd.choice(ADVERBS))
        if rnd.random() < 0.3:
            parts[-1] += ","
    text = " ".join(parts).rstrip(",")
    return text[0].upper() + text[1:] + rnd.choice("....!?")


def paragraph(rnd: random.Random, *, slots: bool = False) -> str:
    return " ".join(sentence(rnd, slots=slots) for _ in range(rnd.randint(3, 7)))


def title(rnd: random.Random, year: int) -> tuple[str, str]:
    """A title and its primary keyword."""
    topic = rnd.choice(TOPICS)
    text = rnd.choice(TITLE_PATTERNS).format(t=topic, T=topic[0].upper() + topic[1:], y=year)
    return text, topic


class TextPool:
    """Paragraphs and sentences made once; articles and messages are assembled from them."""

    def __init__(self, rnd: random.Random, paragraphs: int = 1500, sentences: int = 4000):
        self.rnd = rnd
        # Each paragraph as the pieces between its nouns, filled at each use.
        self.paragraphs = [paragraph(rnd, slots=True).split(NOUN_SLOT)
                           for _ in range(paragraphs)]
        self.paragraph_words = [len(" x ".join(p).split()) for p in self.paragraphs]
        self.sentences = [sentence(rnd) for _ in range(sentences)]
        self.headings = [sentence(rnd, 5).rstrip(".!?") for _ in range(300)]

    def article(self, heading: str, words: int) -> tuple[str, int]:
        """A Markdown article of about `words` words (a title, sections, paragraphs) and its
        word count."""
        rnd = self.rnd
        parts = [f"# {heading}"]
        count = len(heading.split())
        since_heading = 0
        while count < words:
            if since_heading >= 3 and rnd.random() < 0.4:
                sub = rnd.choice(self.headings)
                parts.append(f"## {sub}")
                count += len(sub.split())
                since_heading = 0
            # The last paragraph is one that keeps the text within a few words of the target.
            for _try in range(8):
                i = rnd.randrange(len(self.paragraphs))
                if count + self.paragraph_words[i] <= words + 15:
                    break
            pieces = self.paragraphs[i]
            nouns = rnd.choices(NOUNS, k=len(pieces) - 1)
            parts.append("".join(piece + noun for piece, noun in zip(pieces, nouns, strict=False))
                         + pieces[-1])
            count += self.paragraph_words[i]
            since_heading += 1
        return "\n\n".join(parts), count

    def message(self) -> str:
        rnd = self.rnd
        return " ".join(rnd.choice(self.sentences) for _ in range(rnd.randint(1, 4)))

    def words(self, n: int) -> str:
        return " ".join(self.rnd.choice(self.sentences) for _ in range(max(1, n // 14)))


TONES_AUDIENCES = {
    "tones": ("chaleureux", "professionnel", "enthousiaste", "sobre", "pédagogique",
              "convivial", "institutionnel", "décontracté"),
    "audiences": ("Familles de Lomé", "Jeunes actifs", "Touristes de passage",
                  "Petites entreprises", "Étudiants", "Clients fidèles de la boutique",
                  "Acheteurs professionnels", "Journalistes et partenaires"),
    "keywords": [f"{topic} {suffix}" for topic in TOPICS[:12]
                 for suffix in ("Lomé", "prix", "avis", "conseils")],
}
