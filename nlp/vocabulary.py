"""Descriptor vocabulary written for linernotes: genre, mood, instrument and production terms.

Why a hand-written list: descriptor candidates are open (any adjective or noun
phrase of the evidence), but terms from this vocabulary are the ones people
search music by, so they are matched as whole phrases ("drum and bass" stays
one term) and get a salience boost.
"""

from __future__ import annotations

import re

GENRES = """
rock; pop; jazz; blues; folk; country; soul; funk; disco; reggae; ska; punk; metal; hip hop;
rap; r&b; rhythm and blues; gospel; classical; opera; electronic; techno; house; trance; ambient;
dubstep; drum and bass; jungle; garage; grime; trap; drill; edm; electro; electropop; synthpop;
synth-pop; new wave; post-punk; post-rock; math rock; indie; indie rock; indie pop; indie folk;
alternative; alternative rock; grunge; shoegaze; dream pop; noise; noise rock; no wave;
hardcore; hardcore punk; emo; screamo; pop punk; ska punk; thrash metal; death metal; black metal;
doom metal; sludge; stoner rock; heavy metal; hair metal; glam rock; glam; progressive rock;
prog; psychedelic; psychedelic rock; psych; krautrock; space rock; garage rock; surf; surf rock;
rockabilly; rock and roll; hard rock; soft rock; yacht rock; arena rock; art rock; art pop;
baroque pop; chamber pop; power pop; britpop; j-pop; k-pop; dance; dance-pop; dance-punk;
nu metal; rap rock; metalcore; industrial; ebm; darkwave; goth; gothic rock; coldwave; minimal;
minimal techno; idm; glitch; downtempo; trip hop; chillwave; vaporwave; lo-fi; lo-fi hip hop;
bedroom pop; hyperpop; experimental; avant-garde; free jazz; bebop; hard bop; swing; big band;
smooth jazz; fusion; jazz fusion; jazz rock; latin; salsa; bossa nova; samba; tango; cumbia;
reggaeton; dancehall; dub; afrobeat; afrobeats; highlife; world; world music; celtic; bluegrass;
americana; alt-country; honky tonk; outlaw country; singer-songwriter; acoustic; neo-soul;
motown; northern soul; doo-wop; new jack swing; contemporary r&b; quiet storm; boom bap;
gangsta rap; conscious hip hop; g-funk; crunk; cloud rap; emo rap; mumble rap; horrorcore;
underground hip hop; turntablism; breakbeat; big beat; uk garage; 2-step; footwork; juke;
acid house; deep house; tech house; progressive house; italo disco; eurodance; hi-nrg;
nu-disco; french house; electroclash; post-hardcore; math-rock; slowcore; sadcore; twee;
jangle pop; college rock; madchester; baggy; trip-hop; film score; soundtrack; musical;
cabaret; chanson; flamenco; fado; klezmer; polka; bhangra; qawwali; gamelan; drone; dark ambient;
new age; minimalism; contemporary classical; chamber music; orchestral; symphonic; choral;
a cappella; spoken word; comedy; christian; worship; children's music; lounge; exotica;
easy listening; muzak; schlager; grindcore; crust punk; oi; anarcho-punk; riot grrrl; queercore;
freak folk; anti-folk; psych folk; folk rock; country rock; southern rock; heartland rock;
blues rock; delta blues; chicago blues; electric blues; roots; roots rock; zydeco; cajun
"""

MOODS = """
melancholic; melancholy; sad; happy; upbeat; joyful; euphoric; dark; brooding; moody; gloomy;
somber; haunting; eerie; ominous; menacing; aggressive; angry; furious; intense; energetic;
frenetic; playful; whimsical; quirky; humorous; ironic; sarcastic; romantic; sensual; sexy;
seductive; tender; intimate; warm; cozy; nostalgic; wistful; bittersweet; yearning; longing;
hopeful; uplifting; triumphant; anthemic; epic; cinematic; dramatic; theatrical; grandiose;
majestic; ethereal; dreamy; hypnotic; trance-like; meditative; calm; peaceful; serene; relaxing;
soothing; mellow; laid-back; chill; lazy; sleepy; hazy; woozy; lush; airy; spacious; sparse;
minimalist; stark; raw; gritty; rough; dirty; sleazy; abrasive; harsh; chaotic; noisy; loud;
quiet; soft; gentle; delicate; fragile; vulnerable; confessional; introspective; reflective;
personal; political; angsty; rebellious; defiant; confrontational; provocative; catchy; infectious;
hooky; groovy; funky; danceable; bouncy; driving; propulsive; relentless; pounding; heavy; crushing;
sludgy; fuzzy; jangly; twangy; shimmering; glistening; sparkling; bright; sunny; summery; wintry;
cold; icy; bleak; desolate; lonely; heartbroken; heartfelt; earnest; sincere; soulful; spiritual;
mystical; psychedelic; trippy; surreal; weird; strange; eccentric; idiosyncratic; innovative;
experimental; ambitious; complex; intricate; virtuosic; technical; polished; slick; glossy;
lo-fi; homespun; organic; earthy; rustic; urban; futuristic; retro; vintage; timeless; classic;
fresh; modern; contemporary; underground; mainstream; commercial; accessible; catchy hooks
"""

INSTRUMENTS = """
guitar; electric guitar; acoustic guitar; bass; bass guitar; double bass; upright bass; drums;
drum machine; percussion; piano; keyboards; keyboard; organ; hammond organ; synthesizer; synth;
synths; moog; mellotron; rhodes; wurlitzer; harpsichord; accordion; harmonica; banjo; mandolin;
ukulele; fiddle; violin; viola; cello; strings; string section; harp; flute; clarinet; saxophone;
sax; trumpet; trombone; horn; horns; horn section; brass; tuba; oboe; bassoon; xylophone;
vibraphone; marimba; glockenspiel; bells; tambourine; congas; bongos; tabla; sitar; steel guitar;
pedal steel; slide guitar; lap steel; twelve-string; sampler; samples; turntables; 808; tr-808;
vocoder; talk box; theremin; choir; vocals; vocal; voice; falsetto; harmonies; backing vocals;
beatbox; whistle; handclaps; kalimba; bagpipes; didgeridoo; koto; shamisen; oud; bouzouki;
steel drums; timpani; orchestra; string quartet; big band
"""

PRODUCTION = """
reverb; echo; delay; distortion; fuzz; feedback; overdrive; wah-wah; chorus; flanger; phaser;
tremolo; vibrato; autotune; auto-tune; compression; sidechain; loops; looping; sampling;
layering; overdubs; multitracking; field recordings; tape; analog; analogue; digital; live;
live recording; studio; home recording; bedroom recording; four-track; production; producer;
mixing; mastering; remix; remixes; dub version; instrumental; instrumentals; breakbeats;
breaks; beats; beat; bassline; basslines; groove; grooves; riff; riffs; hook; hooks; chorus line;
melody; melodies; harmony; counterpoint; chord progression; chords; key change; tempo; bpm;
syncopation; polyrhythm; polyrhythms; odd time signatures; crescendo; build-up; drop;
breakdown; outro; intro; bridge; verse; refrain; wall of sound; soundscape; soundscapes;
texture; textures; atmosphere; atmospheric; drone; drones; minimal production; maximalist;
crisp; muddy; clean; polished production; raw production; low end; sub-bass; high end;
stereo; mono; vinyl crackle; tape hiss; lyrics; lyricism; storytelling; wordplay; rhymes;
flow; delivery; singing; crooning; rapping; screaming; growling; whispering; spoken; chant;
chants; call and response; improvisation; jam; jams; solo; solos; guitar solo; extended solos;
concept album; live album; b-side; cover; covers; duet; collaboration; side project;
supergroup; trio; quartet; duo; songwriting
"""


# Vocabulary phrases that state a fact about how a record was made, released or who
# played on it, not how it sounds or feels: "co-written with producer X", "countless
# covers", "a live album". They stay vocabulary (matched as whole phrases, boosted in the
# salience vectors) but are shown like any free word (specificity by document frequency,
# no boost) and never inferred for an entity from its neighbours.
FACTS = """
live; live recording; live album; studio; home recording; bedroom recording; four-track;
production; producer; mixing; mastering; remix; remixes; dub version; concept album; b-side;
cover; covers; duet; collaboration; side project; supergroup; trio; quartet; duo; songwriting
"""


# Broad genre families, each with the genre, instrument and role words that point to it.
# Why a coarse layer on top of the fine vocabulary: listeners' similarity judgements follow
# broad families more than sub-genres, and a 15-dimensional family profile cannot be
# swamped by one rare term the way a long TF-IDF vector can (measured on sas_mirex:
# +0.005 to +0.008 P@10 on top of TF-IDF + MiniLM vocabulary + era, see docs/similarity.md).
GENRE_FAMILIES: dict[str, str] = {
    "rock": """rock; hard rock; soft rock; arena rock; art rock; classic rock; garage rock;
        glam rock; glam; southern rock; heartland rock; roots rock; blues rock; progressive
        rock; prog; psychedelic rock; space rock; stoner rock; folk rock; country rock;
        jazz rock; rock and roll; rockabilly; surf rock; surf; guitar; electric guitar; riff;
        riffs; guitar solo""",
    "alternative": """alternative; alternative rock; indie; indie rock; indie pop; grunge;
        post-punk; new wave; shoegaze; dream pop; noise rock; post-rock; math rock; college
        rock; britpop; madchester; slowcore; emo; jangle pop; lo-fi""",
    "metal": """metal; heavy metal; thrash metal; death metal; black metal; doom metal; hair
        metal; nu metal; metalcore; sludge; grindcore; industrial; heavy; aggressive;
        screaming; growling""",
    "punk": """punk; hardcore; hardcore punk; pop punk; ska punk; post-hardcore; crust punk;
        oi; anarcho-punk; riot grrrl""",
    "pop": """pop; dance-pop; synthpop; synth-pop; electropop; power pop; teen pop; bubblegum;
        boy band; europop; adult contemporary; easy listening; catchy; mainstream; ballad;
        ballads; chart""",
    "electronic": """electronic; techno; house; trance; ambient; dubstep; drum and bass;
        jungle; garage; uk garage; electro; idm; glitch; downtempo; trip hop; big beat;
        breakbeat; acid house; deep house; tech house; progressive house; eurodance; hi-nrg;
        dance; edm; rave; synthesizer; synth; synths; drum machine; sampler; dj; remix;
        remixes; club""",
    "hiphop": """hip hop; rap; gangsta rap; conscious hip hop; g-funk; crunk; boom bap;
        underground hip hop; turntablism; trap; rapping; rhymes; mc; turntables; beats; flow""",
    "rnb": """r&b; rhythm and blues; soul; funk; neo-soul; motown; northern soul; contemporary
        r&b; new jack swing; quiet storm; disco; doo-wop; gospel; soulful; groove""",
    "blues": """blues; delta blues; chicago blues; electric blues; country blues; piedmont
        blues; slide guitar; harmonica; boogie""",
    "jazz": """jazz; swing; big band; bebop; hard bop; free jazz; cool jazz; smooth jazz;
        fusion; jazz fusion; dixieland; ragtime; bandleader; saxophone; sax; trumpet;
        trombone; clarinet; improvisation; orchestra; crooner; crooning; standards; vocal
        jazz""",
    "country": """country; alt-country; honky tonk; outlaw country; bluegrass; western swing;
        americana; nashville; country music; banjo; fiddle; pedal steel; steel guitar;
        twangy; cowboy""",
    "folk": """folk; singer-songwriter; acoustic; folk rock; indie folk; freak folk; anti-folk;
        protest; celtic; acoustic guitar""",
    "reggae": "reggae; ska; dub; dancehall; rocksteady; roots reggae; reggaeton",
    "latin": "latin; salsa; bossa nova; samba; tango; cumbia; flamenco; mariachi; tejano",
    "classical": """classical; opera; orchestral; symphonic; choral; chamber music;
        contemporary classical; baroque; composer; symphony; concerto; piano; violin; cello;
        string quartet; minimalism""",
}

# Words every piece of music writing uses: never descriptors of anyone in particular.
GENERIC = frozenset(
    """
album albums record records song songs track tracks single singles release releases released
releasing music musical musician musicians band bands group groups artist artists week weeks
month months time times today yesterday tonight day days night thing things lot way people
year years number label labels chart charts hit hits career member members debut tour tours
touring show shows fan fans listen listening listener listeners play plays played playing
version versions best favourite favorite new old first last great good big little part
""".split()  # noqa: SIM905 - a word list reads better as text
)


def _parse(block: str) -> list[str]:
    return [t.strip() for t in block.replace("\n", " ").split(";") if t.strip()]


def normalize_term(term: str) -> str:
    """Matching key of a term: lower case, hyphens and runs of spaces as one space."""
    return re.sub(r"[\s\-]+", " ", term.lower()).strip()


def builtin_terms() -> dict[str, str]:
    """Normalised key -> display form of every built-in term."""
    terms: dict[str, str] = {}
    for block in (GENRES, MOODS, INSTRUMENTS, PRODUCTION):
        for term in _parse(block):
            terms.setdefault(normalize_term(term), term)
    return terms


def prototype_terms() -> list[str]:
    """Genre, mood and instrument terms that MiniLM soft-tags evidence sentences with."""
    seen: dict[str, str] = {}
    for block in (GENRES, MOODS, INSTRUMENTS):
        for term in _parse(block):
            seen.setdefault(normalize_term(term), term)
    return list(seen.values())


def fact_terms() -> frozenset[str]:
    """Normalised keys of the vocabulary phrases that are facts, not descriptions (`FACTS`)."""
    return frozenset(normalize_term(t) for t in _parse(FACTS))


def family_terms() -> dict[str, list[str]]:
    """Normalised key -> the genre families it points to (a word may point to several)."""
    out: dict[str, list[str]] = {}
    for family, block in GENRE_FAMILIES.items():
        for term in _parse(block):
            families = out.setdefault(normalize_term(term), [])
            if family not in families:
                families.append(family)
    return out
