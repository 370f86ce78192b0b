"""The orders of the demo agency: French briefs and the texts the writers delivered, written for
this project (the businesses are made up). `portal.demo` plays each story through the real
services, so timelines, deliveries and frozen prices are what people would have produced."""

from __future__ import annotations

from dataclasses import dataclass

from portal.orders.models import OrderStatus

S = OrderStatus


@dataclass(frozen=True)
class DemoOrder:
    client: str  # email of a demo client
    title: str
    content_type: str  # name_fr of a content type
    tier: str  # name of a tier
    words: tuple[int, int]
    status: OrderStatus
    # Days before now when the story starts (the brief is written) and when its last step
    # happened; the steps are spread between the two.
    days: tuple[float, float]
    deadline_days: float  # the deadline, counted from the day the brief was written
    tone: str = ""
    audience: str = ""
    primary_keyword: str = ""
    secondary_keywords: tuple[str, ...] = ()
    links_to_include: tuple[str, ...] = ()
    reference_urls: tuple[str, ...] = ()
    instructions: str = ""
    writer: str | None = None  # who claims it (or is assigned it, with assigned_by)
    assigned_by: str | None = None
    preferred_writer: str | None = None
    draft: str = ""  # the working text of an order being written
    deliveries: tuple[str, ...] = ()
    delivery_notes: tuple[str, ...] = ()
    revision_reasons: tuple[str, ...] = ()
    rating: int | None = None
    rating_comment: str = ""
    cancel_reason: str = ""
    # Approved, its client allows it as a sample and the manager shows it on the landing page.
    sample: bool = False
    # The editor's comments on the first deliveries, on a tier that requires review: each of
    # these deliveries is returned to the writer; the later ones are passed to the client
    # (but the last one of an order left in review).
    editor_comments: tuple[str, ...] = ()


ZENITH = "client@demo.test"
CAFE = "contact@cafe-atakpame.demo.test"
BAKERY = "boulangerie@demo.test"
HOTEL = "hotel@demo.test"
COOPERATIVE = "cooperative@demo.test"
KODJO = "writer@demo.test"
AFI = "redaction.afi@demo.test"
YAO = "redaction.yao@demo.test"
MANAGER = "manager@demo.test"
EDITOR = "relecture@demo.test"


def revised(text: str, *changes: tuple[str, str]) -> str:
    """A later version of a delivered text: `text` with each (old, new) passage replaced (each
    passage found once)."""
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


# --- Boutique Zénith: a blog article delivered twice, with a revision in between ------------

WAX_FIRST = """\
# Comment choisir son pagne wax sans se tromper

Au Togo, le pagne n'est jamais un simple tissu. On l'offre pour un mariage, on le porte le
dimanche à l'église, on le choisit avec soin pour une remise de diplôme. Devant les rayons de la
Boutique Zénith, à Lomé, nos clientes nous posent souvent la même question : comment reconnaître
un bon pagne wax et le choisir selon l'occasion ? Voici nos conseils.

## Reconnaître un wax de qualité

Un wax de qualité se reconnaît d'abord au toucher. Le tissu est dense, légèrement ciré à l'état
neuf, et ses couleurs sont aussi vives sur l'envers que sur l'endroit : c'est la marque d'une
impression à la cire réalisée des deux côtés. Méfiez-vous des pagnes dont l'envers est pâle ou
dont les motifs bavent sur les bords. Regardez aussi la lisière : les grandes maisons y
impriment leur nom et la référence du motif.

Le prix donne une indication, sans tout dire. Un pagne de six yards de bonne facture représente
un investissement, mais il traversera les années et les lavages sans perdre son éclat.

## Choisir selon l'occasion

Chaque motif raconte une histoire, et certains portent même un nom que tout le marché connaît.
Pour une cérémonie, on privilégie les motifs riches et les couleurs profondes : bleu nuit,
bordeaux, vert bouteille. Pour le quotidien, les imprimés plus légers et les fonds clairs se
portent facilement, en jupe, en chemise ou en robe cintrée.

Pour un mariage ou une fête de famille, pensez à l'uniforme : tout le groupe porte le même
pagne, cousu selon le goût de chacun. Prévoyez large, car il faut compter trois à six yards par
tenue selon le modèle.

## Faire confiance à la couturière

Un beau pagne mérite une belle coupe. Avant d'acheter, montrez le modèle souhaité à votre
couturière : elle vous dira combien de yards prévoir et quel motif se prête le mieux à la coupe.
Les grands motifs conviennent aux robes amples, les petits motifs aux vêtements ajustés.

## Notre sélection à Lomé

À la Boutique Zénith, nous sélectionnons chaque saison des pagnes wax de grandes maisons et de
jeunes créateurs togolais. Nos conseillères vous aident à composer votre tenue, du choix du
tissu jusqu'aux accessoires assortis : sacs, pochettes et foulards.

Passez nous voir, ou découvrez la collection sur [notre page des
pagnes](https://boutique-zenith.demo.test/pagnes). Écrivez-nous aussi : nous vous mettrons de côté
les nouveautés de la semaine et vous conseillerons volontiers par téléphone avant votre visite.
"""

WAX_SECOND = revised(
    WAX_FIRST,
    ("# Comment choisir son pagne wax sans se tromper",
     "# Comment choisir et entretenir son pagne wax"),
    ("""la même question : comment reconnaître
un bon pagne wax et le choisir selon l'occasion ? Voici nos conseils.""",
     """les mêmes questions : comment
reconnaître un bon pagne wax, le choisir selon l'occasion, puis le garder beau longtemps ? Voici
nos conseils."""),
    ("""## Faire confiance à la couturière

Un beau pagne mérite une belle coupe. Avant d'acheter, montrez le modèle souhaité à votre
couturière : elle vous dira combien de yards prévoir et quel motif se prête le mieux à la coupe.
Les grands motifs conviennent aux robes amples, les petits motifs aux vêtements ajustés.""",
     """## L'entretien du pagne

Le premier lavage est décisif. Lavez votre pagne neuf seul, à la main, dans une eau froide
légèrement salée : le sel aide à fixer les couleurs. Ne le laissez pas tremper des heures et
n'utilisez jamais d'eau de Javel.

Faites-le sécher à l'ombre et sur l'envers, car le grand soleil de la saison sèche ternit les
couleurs en quelques semaines. Repassez-le encore légèrement humide, sur l'envers lui aussi,
pour lui rendre son aspect lisse.

Rangez enfin vos pagnes pliés dans un endroit sec et aéré, à l'abri de l'humidité de la saison
des pluies. Quelques feuilles de neem ou de citronnelle glissées entre les plis éloignent les
insectes."""),
    ("sacs, pochettes et foulards.", """sacs, pochettes et foulards. Et si une tenue doit être
ajustée, notre atelier de retouches de Tokoin s'en occupe en quarante-huit heures."""),
    (" et vous conseillerons volontiers par téléphone avant votre visite.", "."),
)

# --- Boutique Zénith: a press release sent back for a correction -----------------------------

PRESS_RELEASE = """\
**COMMUNIQUÉ DE PRESSE** · Lomé

# La Boutique Zénith ouvre un espace dédié aux créateurs togolais

La Boutique Zénith, concept store installé à Lomé depuis 2019, inaugure ce samedi un nouvel
espace de 120 mètres carrés entièrement consacré aux créateurs togolais. Mode,
maroquinerie, bijoux, objets de décoration : une trentaine de marques locales y seront
présentées toute l'année.

## Une vitrine pour la création locale

Depuis son ouverture, la Boutique Zénith fait le pari du « fabriqué au Togo ». Les pagnes wax
et les sacs cousus dans les ateliers de Lomé représentent aujourd'hui plus de la moitié de ses
ventes. Le nouvel espace permettra d'aller plus loin : chaque trimestre, un comité de sélection
choisira de nouveaux créateurs, qui bénéficieront d'un emplacement, d'une mise en valeur en
vitrine et d'un accompagnement à la vente en ligne.

Les créateurs retenus gardent la maîtrise de leurs prix et reçoivent chaque mois le détail de
leurs ventes. La boutique prélève une commission fixe, annoncée à l'avance, sans frais
d'entrée.

## Un lieu de rencontre

L'espace accueillera aussi des ateliers ouverts au public : initiation à la teinture indigo,
personnalisation de sacs, conseils de style. Le programme sera publié chaque mois sur le site et
les réseaux sociaux de la boutique.

## Informations pratiques

- Inauguration : samedi, de 10 h à 19 h, en présence des créateurs
- Adresse : Boutique Zénith, boulevard du 13-Janvier, Lomé
- Entrée libre

**À propos de la Boutique Zénith.** Fondée en 2019 à Lomé, la Boutique Zénith est un concept
store consacré à la mode et à l'artisanat d'Afrique de l'Ouest. Elle emploie douze personnes et
travaille avec plus de quarante artisans et créateurs.

**Contact presse :** presse@boutique-zenith.demo.test
"""

# --- Boutique Zénith: an approved blog article -------------------------------------------------

GIFTS = """\
# Cinq idées de cadeaux fabriqués au Togo

Offrir un cadeau fabriqué près de chez soi, c'est faire plaisir deux fois : à la personne qui
le reçoit et à l'artisan qui l'a créé. Voici cinq idées dénichées par l'équipe de la Boutique
Zénith, pour tous les budgets.

## 1. Un sac en pagne wax

Cousus à Lomé dans des chutes de pagne, nos cabas et nos pochettes sont tous uniques. Solides,
doublés et munis d'une fermeture éclair, ils vous accompagnent aussi bien au marché qu'au
bureau.

## 2. Un savon noir artisanal

Préparé à partir de beurre de karité et de cendres végétales, le savon noir est un soin
traditionnel apprécié pour la peau comme pour les cheveux. Présenté dans un papier imprimé, il
fait un joli petit cadeau.

## 3. Une statuette en bois

Les sculpteurs de la région des Plateaux travaillent le bois avec un savoir-faire transmis de
génération en génération. Choisissez une pièce signée : chaque statuette est accompagnée du nom
de son auteur.

## 4. Un paquet de café des Plateaux

Le café cultivé autour de Kpalimé et d'Atakpamé gagne à être connu. Torréfié sur place, il offre
des notes douces et chocolatées. Un cadeau idéal pour les amateurs, à glisser dans une corbeille
avec une tasse en terre cuite.

## 5. Un bijou en perles

Colliers, bracelets et boucles d'oreilles en perles de verre recyclé : nos créatrices assemblent
des couleurs vives qui se portent avec tout. Pour un cadeau personnalisé, choisissez vous-même
les couleurs en boutique.

## L'emballage est offert

Quelle que soit votre idée, nous emballons vos cadeaux gratuitement dans du papier kraft noué
d'un ruban de pagne. Bonnes fêtes !
"""

# --- A Lomé bakery --------------------------------------------------------------------------

SOURDOUGH = """\
# Le pain au levain, la fierté de la Fournée dorée

Chaque matin, avant cinq heures, les fours de la Fournée dorée s'allument dans le quartier de
Bè. Depuis l'an dernier, une nouvelle fournée y a trouvé sa place à côté des baguettes et du pain
de mie : le pain au levain. Voici pourquoi il a tant de succès auprès de nos clients.

## Un levain vivant, nourri chaque jour

Le levain est un mélange de farine et d'eau dans lequel se développent naturellement des
levures et des bactéries lactiques. Notre boulanger, Kossi, le nourrit chaque jour depuis plus
de deux ans. Il remplace la levure industrielle et donne au pain son goût légèrement acidulé.

## Une fermentation lente

Là où une baguette classique est prête en quelques heures, la pâte au levain repose toute une
nuit. Ce temps long permet aux arômes de se développer et rend le pain plus digeste. Dans la
chaleur de Lomé, il faut surveiller la pâte de près : une heure de trop, et elle devient trop
acide.

## Un pain qui se garde

Grâce à sa croûte épaisse et à sa mie dense, le pain au levain se conserve trois à quatre jours,
quand la baguette sèche dès le lendemain. Enveloppez-le dans un torchon propre et gardez-le à
l'abri de l'humidité. Pour le retrouver croustillant, passez-le quelques minutes au four.

## Comment le déguster

Le pain au levain accompagne tous les repas : grillé au petit-déjeuner avec du beurre et du miel
du pays, en tartines avec un avocat bien mûr, ou simplement pour saucer une sauce d'arachide. Il
se marie aussi très bien avec le poisson grillé.

## Où le trouver

Le pain au levain est cuit tous les jours sauf le lundi. Il est en vente dès sept heures à la
boulangerie de Bè, et le samedi sur notre stand du marché de Tokoin. Pensez à le réserver la
veille par téléphone : il part vite !
"""

# --- A Kara hotel -------------------------------------------------------------------------

HOTEL_PAGE = """\
# Bienvenue à l'Hôtel Les Collines, au cœur de Kara

Au nord du Togo, à quatre cents kilomètres de Lomé, Kara s'étend au pied des monts Kabyè.
L'Hôtel Les Collines vous y accueille dans un jardin calme, à dix minutes du centre-ville, pour
un séjour d'affaires comme pour la découverte de la région. Choisir un hôtel à Kara, c'est
choisir le calme du nord sans renoncer au confort.

## Nos chambres

L'hôtel compte vingt-quatre chambres climatisées, réparties entre le bâtiment principal et
quatre pavillons ouverts sur le jardin. Toutes disposent d'une salle d'eau privée, d'une
connexion wifi gratuite et d'un bureau. Les chambres familiales accueillent jusqu'à quatre
personnes.

Le petit-déjeuner est servi chaque matin sur la terrasse : pain frais, fruits de saison,
omelettes, bouillie de mil et café du Togo.

## Le restaurant

Notre cuisine met à l'honneur les produits du Nord : igname pilée, sauce d'arachide, pintade
grillée, fromage peul. Le restaurant est ouvert à tous, midi et soir, et propose aussi des plats
européens pour les palais moins aventureux.

## Travailler à Kara

Une salle de réunion de quarante places, équipée d'un vidéoprojecteur et d'un groupe
électrogène, accueille vos séminaires et vos formations. Notre équipe organise les pauses-café,
les déjeuners et le transport depuis l'aéroport de Niamtougou.

## Découvrir la région

Kara est une excellente base pour explorer le nord du pays. À une heure de route, le
Koutammakou, inscrit au patrimoine mondial de l'UNESCO, abrite les célèbres takienta, les
maisons-forteresses en terre des Batammariba. Plus près, les villages des monts Kabyè sont
réputés pour leurs forgerons et leurs potières.

Chaque année en juillet, les Evala, les luttes traditionnelles kabyè, attirent des visiteurs de
tout le pays. Réservez tôt : l'hôtel affiche complet pendant les fêtes.

Notre réception vous aide à organiser vos excursions, avec des guides de la région et des
véhicules adaptés aux pistes.

## Réserver

Réservez directement par téléphone ou par courriel pour bénéficier du meilleur tarif,
petit-déjeuner compris. Nous acceptons les paiements par carte bancaire et par mobile money.
"""

# --- A Kpalimé coffee cooperative -----------------------------------------------------------

COFFEE_RELEASE = """\
**COMMUNIQUÉ DE PRESSE** · Kpalimé

# Les caféiculteurs de Kloto exportent leur premier café certifié biologique

La Coopérative des caféiculteurs de Kloto, qui réunit 180 familles de producteurs autour de
Kpalimé, a expédié ce mois-ci son premier conteneur de café certifié biologique. Dix-neuf tonnes
de café vert ont quitté le port de Lomé à destination de torréfacteurs européens.

## Trois ans de conversion

Cette première exportation est l'aboutissement de trois années de travail. Les membres de la
coopérative ont renoncé aux engrais et aux pesticides de synthèse, planté des arbres d'ombrage
et appris à produire leur propre compost à partir des pulpes de café. Un technicien agricole
les accompagne dans chaque village.

« Nos parents cultivaient déjà le café sur ces collines. Aujourd'hui, nos enfants voient que ce
travail peut faire vivre une famille », explique Komla Ahadji, président de la coopérative.

## Un meilleur prix pour les producteurs

La certification permet aux producteurs de vendre leur café nettement plus cher que sur le
marché conventionnel. Une partie de cette prime financera un centre de séchage commun, dont la
construction commencera avant la prochaine récolte, ainsi que des bourses scolaires pour les
enfants des membres.

## Un café à découvrir au Togo

La coopérative ne vend pas qu'à l'étranger. Son café torréfié est en vente à Kpalimé, dans sa
boutique de la route de Klouto, et à Lomé dans plusieurs épiceries fines. Des visites des
plantations sont proposées de novembre à janvier, pendant la récolte.

**À propos de la coopérative.** Créée en 2008, la Coopérative des caféiculteurs de Kloto
rassemble des producteurs de café et de cacao de la préfecture de Kloto, dans la région des
Plateaux.

**Contact :** cooperative@demo.test
"""

ABOUT_DRAFT = """\
# Qui sommes-nous ?

La Boutique Zénith est née en 2019 d'une idée simple : réunir sous un même toit ce que les
créateurs togolais font de plus beau. Pagnes wax, sacs, bijoux, objets de décoration…

<!-- À compléter : l'équipe, les ateliers partenaires, les horaires -->
"""

COFFEE_SHEETS_DRAFT = """\
## Café des Plateaux, torréfaction moyenne

Un café doux et rond, aux notes de cacao et de noisette, issu de petites plantations autour
d'Atakpamé. Idéal le matin, en filtre ou à la cafetière italienne.

## Robusta de Kloto, torréfaction foncée

"""

WORKSHOPS_FIRST = """\
# Nos ateliers de couture partenaires

Chaque pièce de la Boutique Zénith passe entre les mains d'un atelier de couture de Lomé. Nous
travaillons avec quatre ateliers, choisis pour la qualité de leurs finitions et pour la façon
dont ils traitent leurs apprentis.

## L'atelier de Tokoin

Madame Adjoa y coud depuis vingt ans. Elle réalise nos robes de cérémonie et nos ensembles
en pagne wax. Son atelier de couture forme chaque année trois jeunes femmes du quartier, qui
apprennent la coupe, le montage et les finitions à la main.

## L'atelier de Bè

Monsieur Komi et ses deux fils fabriquent nos chemises et nos vestes. Ils travaillent le
coton et le lin, et savent marier un tissu uni avec une touche de wax sur un col ou une poche.

## L'atelier d'Adidogomé

C'est ici que naissent nos sacs et nos trousses. L'équipe récupère les chutes de tissu des
autres ateliers : rien ne se perd, et chaque sac est unique.

## L'atelier de Nyékonakpoè

Le plus jeune de nos partenaires, ouvert en 2022 par deux anciennes apprenties de Madame
Adjoa. Elles réalisent nos retouches et nos commandes sur mesure.

Venez les rencontrer lors de nos journées portes ouvertes, chaque premier samedi du mois.
"""

WORKSHOPS_SECOND = revised(WORKSHOPS_FIRST, (
    "Venez les rencontrer lors de nos journées portes ouvertes, chaque premier samedi du mois.",
    """## Pourquoi nous travaillons ainsi

Acheter une pièce de la boutique, c'est faire vivre un atelier de couture du quartier : nous
payons chaque commande au prix fixé avec l'atelier, à la livraison, et nous commandons toute
l'année, pas seulement avant les fêtes. Les ateliers gardent ainsi leurs couturières et leurs
apprentis même pendant les mois calmes.

Venez rencontrer nos couturières lors de nos journées portes ouvertes, chaque premier samedi
du mois, au 45 boulevard du 13 Janvier : elles vous montreront comment naît une robe, de la
coupe du tissu aux dernières finitions."""),
)


ORDERS: tuple[DemoOrder, ...] = (
    # Boutique Zénith: the main demo client has an order in every status.
    DemoOrder(
        client=ZENITH, status=S.APPROVED, title="Cinq idées de cadeaux fabriqués au Togo",
        content_type="Article de blog", tier="Essentiel", words=(250, 400),
        days=(34, 27), deadline_days=6,
        tone="Chaleureux, enjoué", audience="Clients de la boutique, de 25 à 45 ans, à Lomé",
        primary_keyword="cadeaux fabriqués au Togo",
        secondary_keywords=("artisanat togolais", "idées cadeaux"),
        instructions="Cinq idées, une par intertitre, avec une phrase sur l'artisan ou la "
                     "région. Terminer par l'emballage cadeau offert.",
        writer=KODJO, deliveries=(GIFTS,), delivery_notes=("Bonne lecture !",),
        rating=5, rating_comment="Parfait, exactement le ton que nous voulions.",
        sample=True,
    ),
    DemoOrder(
        client=ZENITH, status=S.DELIVERED,
        title="Comment choisir et entretenir un pagne wax",
        content_type="Article de blog", tier="Professionnel", words=(400, 600),
        days=(11, 1), deadline_days=9,
        tone="Expert mais accessible, vouvoiement",
        audience="Clientes de 25 à 55 ans qui achètent du pagne pour les cérémonies",
        primary_keyword="pagne wax",
        secondary_keywords=("entretien du pagne", "Lomé", "couturière"),
        links_to_include=("https://boutique-zenith.demo.test/pagnes",),
        reference_urls=("https://boutique-zenith.demo.test/blog/nouvelle-collection",),
        instructions="Un article de conseil pour notre blog : reconnaître un wax de qualité, "
                     "le choisir selon l'occasion et l'entretenir. Des intertitres, pas de "
                     "liste à puces. Terminer par une invitation à passer en boutique.",
        writer=KODJO, deliveries=(WAX_FIRST, WAX_SECOND),
        delivery_notes=("Première version : j'ai mis l'accent sur le choix du tissu.",
                        "J'ai ajouté la partie sur l'entretien et l'atelier de Tokoin."),
        revision_reasons=(
            "Le texte est agréable, mais il manque la partie sur l'entretien (lavage, séchage, "
            "rangement) demandée dans le brief, et il reste sous les 400 mots. Pouvez-vous "
            "aussi mentionner notre atelier de retouches de Tokoin dans la conclusion ?",
        ),
    ),
    DemoOrder(
        client=ZENITH, status=S.REVISION_REQUESTED,
        title="Communiqué : ouverture de l'espace créateurs",
        content_type="Communiqué de presse", tier="Expert", words=(250, 450),
        days=(6, 0.5), deadline_days=8,
        tone="Institutionnel, factuel", audience="Journalistes et blogueurs de Lomé",
        primary_keyword="créateurs togolais",
        instructions="Communiqué pour l'inauguration de notre espace créateurs. Date, adresse, "
                     "chiffres clés, paragraphe « À propos » et contact presse.",
        writer=YAO, assigned_by=MANAGER, deliveries=(PRESS_RELEASE,),
        delivery_notes=("Voici le communiqué, prêt à être envoyé.",),
        revision_reasons=(
            "L'inauguration est repoussée au samedi suivant : merci d'adapter le texte, et "
            "d'ajouter une citation de Mawuli Dogbé, notre fondateur, après le premier "
            "paragraphe.",
        ),
    ),
    # On the tier that requires review: the editor returned the first version, the second
    # waits for the editor; the client sees neither yet.
    DemoOrder(
        client=ZENITH, status=S.IN_REVIEW, title="Page : nos ateliers de couture partenaires",
        content_type="Page web", tier="Premium", words=(180, 350),
        days=(5, 0.2), deadline_days=8,
        tone="Chaleureux, concret", audience="Clients attentifs à l'origine des vêtements",
        primary_keyword="atelier de couture",
        secondary_keywords=("Lomé", "pagne wax"),
        instructions="Présenter nos quatre ateliers partenaires et dire pourquoi nous "
                     "travaillons avec eux. Finir par les journées portes ouvertes.",
        writer=YAO, deliveries=(WORKSHOPS_FIRST, WORKSHOPS_SECOND),
        delivery_notes=("Première version de la page.",
                        "J'ai ajouté la partie sur notre façon de travailler."),
        editor_comments=(
            "Le brief demande pourquoi la boutique travaille avec ces ateliers : cette partie "
            "manque. Ajoutez un court intertitre avant la conclusion, et donnez l'adresse de la "
            "boutique pour les portes ouvertes.",
        ),
    ),
    DemoOrder(
        client=ZENITH, status=S.IN_PROGRESS, title="Page « Qui sommes-nous ? » du site",
        content_type="Page web", tier="Professionnel", words=(300, 500),
        days=(3, 2), deadline_days=7,
        tone="Sincère, proche", audience="Visiteurs du site qui découvrent la boutique",
        primary_keyword="concept store Lomé",
        secondary_keywords=("créateurs togolais", "Boutique Zénith"),
        instructions="Raconter l'histoire de la boutique, présenter l'équipe et les ateliers "
                     "partenaires, donner les horaires d'ouverture.",
        writer=KODJO, draft=ABOUT_DRAFT,
    ),
    DemoOrder(
        client=ZENITH, status=S.OPEN, title="Newsletter de décembre : idées de fêtes",
        content_type="Newsletter", tier="Professionnel", words=(200, 350),
        days=(1, 0.8), deadline_days=6,
        tone="Festif", audience="Abonnés à la newsletter (3 000 contacts)",
        primary_keyword="fêtes de fin d'année",
        instructions="Présenter les nouveautés de décembre, les horaires élargis et la soirée "
                     "d'ouverture du 12 décembre. Un objet de courriel en plus du texte.",
    ),
    DemoOrder(
        client=ZENITH, status=S.DRAFT, title="Fiches produits : sacs en wax",
        content_type="Fiches produits", tier="Essentiel", words=(300, 600),
        days=(0.3, 0.3), deadline_days=10,
        tone="Descriptif, précis", audience="Acheteurs de la boutique en ligne",
        primary_keyword="sac en wax",
        instructions="Douze fiches de 30 à 50 mots : matière, dimensions, usage. Les photos "
                     "et mesures suivront en pièce jointe.",
    ),
    DemoOrder(
        client=ZENITH, status=S.CANCELLED, title="Article : le marché de Noël du Grand Marché",
        content_type="Article d'actualité", tier="Essentiel", words=(250, 400),
        days=(15, 14), deadline_days=5,
        tone="Informatif", audience="Habitants de Lomé",
        primary_keyword="marché de Noël Lomé",
        cancel_reason="L'événement est reporté à l'an prochain.",
    ),
    # A Lomé bakery: a rushed order, approved.
    DemoOrder(
        client=BAKERY, status=S.APPROVED, title="Notre pain au levain",
        content_type="Article de blog", tier="Essentiel", words=(300, 450),
        days=(20, 18), deadline_days=2,
        tone="Gourmand, simple", audience="Clients du quartier de Bè et de Tokoin",
        primary_keyword="pain au levain",
        secondary_keywords=("boulangerie Lomé", "fermentation"),
        instructions="Expliquer ce qu'est le levain, pourquoi notre pain se garde plus "
                     "longtemps, et où l'acheter. Citer Kossi, notre boulanger.",
        writer=AFI, deliveries=(SOURDOUGH,),
        rating=4, rating_comment="Très bien, un peu long à notre goût.",
        sample=True,
    ),
    # A Kara hotel: a web page under review.
    DemoOrder(
        client=HOTEL, status=S.DELIVERED, title="Page d'accueil de l'hôtel",
        content_type="Page web", tier="Expert", words=(300, 500),
        days=(8, 2), deadline_days=10,
        tone="Accueillant, élégant", audience="Voyageurs d'affaires et touristes",
        primary_keyword="hôtel à Kara",
        secondary_keywords=("Koutammakou", "salle de réunion", "monts Kabyè"),
        reference_urls=("https://hotel-les-collines.demo.test/ancien-site",),
        instructions="Présenter les chambres, le restaurant, la salle de réunion et les "
                     "excursions (Koutammakou, Evala). Finir par la réservation directe.",
        writer=YAO, deliveries=(HOTEL_PAGE,),
        delivery_notes=("Les noms de lieux ont été vérifiés.",),
    ),
    # A Kpalimé coffee cooperative: an approved press release, then a newsletter offered to the
    # same writer first.
    DemoOrder(
        client=COOPERATIVE, status=S.APPROVED,
        title="Communiqué : notre premier café certifié bio",
        content_type="Communiqué de presse", tier="Professionnel", words=(250, 400),
        days=(40, 31), deadline_days=7,
        tone="Fier, factuel", audience="Presse économique et agricole, partenaires",
        primary_keyword="café certifié biologique",
        secondary_keywords=("Kpalimé", "coopérative"),
        instructions="Annoncer la première exportation certifiée bio (19 tonnes). Citation du "
                     "président Komla Ahadji. Paragraphe sur l'usage de la prime.",
        writer=AFI, deliveries=(COFFEE_RELEASE,),
        rating=5, rating_comment="Bravo, repris tel quel par deux journaux.",
        sample=True,
    ),
    DemoOrder(
        client=COOPERATIVE, status=S.OPEN, title="Newsletter : nouvelles de la récolte",
        content_type="Newsletter", tier="Professionnel", words=(250, 400),
        days=(0.2, 0.1), deadline_days=9,
        tone="Chaleureux", audience="Acheteurs et amis de la coopérative",
        primary_keyword="récolte de café",
        instructions="Donner des nouvelles de la récolte, du centre de séchage et des visites "
                     "de plantations.",
        preferred_writer=AFI,
    ),
    # Café d'Atakpamé: product sheets overdue, and a newsletter waiting for a writer.
    DemoOrder(
        client=CAFE, status=S.IN_PROGRESS, title="Fiches produits : nos cafés torréfiés",
        content_type="Fiches produits", tier="Essentiel", words=(250, 400),
        days=(6, 5), deadline_days=5,
        tone="Sensoriel", audience="Clients du café et de l'épicerie en ligne",
        primary_keyword="café torréfié",
        instructions="Cinq fiches : origine, torréfaction, arômes, préparation conseillée.",
        writer=KODJO, draft=COFFEE_SHEETS_DRAFT,
    ),
    DemoOrder(
        client=CAFE, status=S.OPEN, title="Article : le café, des Plateaux à la tasse",
        content_type="Article de blog", tier="Expert", words=(500, 800),
        days=(2, 1.5), deadline_days=12,
        tone="Pédagogique", audience="Amateurs de café, touristes",
        primary_keyword="café des Plateaux",
        secondary_keywords=("Atakpamé", "torréfaction"),
        instructions="Suivre le café de la cerise à la tasse, avec nos producteurs.",
    ),
    # Boutique Zénith again: a long guide submitted today, more than its balance holds. It waits
    # for payment (played last: the money its other orders left is not enough).
    DemoOrder(
        client=ZENITH, status=S.AWAITING_PAYMENT,
        title="Guide complet : s'habiller en pagne pour les fêtes de fin d'année",
        content_type="Article de blog", tier="Expert", words=(900, 1200),
        days=(0.1, 0.1), deadline_days=14,
        tone="Chaleureux, expert", audience="Clientes de la boutique, à Lomé et dans la diaspora",
        primary_keyword="pagne fêtes de fin d'année",
        secondary_keywords=("tenue de réveillon", "wax", "couturière"),
        instructions="Un vrai guide : choisir le tissu, le modèle, la couturière, le budget.",
    ),
)
