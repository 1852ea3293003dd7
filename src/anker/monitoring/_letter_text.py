"""The wording of the client's letter, in Dutch and English: plain words, no coefficients."""

from __future__ import annotations

# what a feature is, in words a client reads without a glossary
FEATURE_WORDS = {
    "nl": {"age": "uw leeftijd", "education": "uw opleidingsniveau",
           "occupation_group": "het soort werk dat u deed", "sector": "de sector waarin u werkte",
           "work_history_years": "het aantal jaren dat u hebt gewerkt",
           "daily_wage": "uw laatste loon", "prior_spells": "of u eerder een uitkering had",
           "prior_sanctions": "of u eerder een maatregel op uw uitkering kreeg",
           "culpable_dismissal": "de manier waarop uw vorige baan eindigde",
           "registration_lag_days": "hoe snel u zich na uw ontslag inschreef",
           "health_limitation": "uw gezondheid",
           "tightness": "het aantal vacatures voor uw beroep in uw regio",
           "unemployment_rate": "de werkloosheid in uw regio",
           "entitlement_days": "hoe lang u recht hebt op WW", "sex": "uw geslacht",
           "migration_background": "uw migratieachtergrond"},
    "en": {"age": "your age", "education": "your level of education",
           "occupation_group": "the kind of work you did", "sector": "the sector you worked in",
           "work_history_years": "the number of years you have worked",
           "daily_wage": "your last wage", "prior_spells": "whether you were on benefit before",
           "prior_sanctions": "whether your benefit was sanctioned before",
           "culpable_dismissal": "the way your last job ended",
           "registration_lag_days": "how soon you registered after losing your job",
           "health_limitation": "your health",
           "tightness": "the number of vacancies for your occupation in your region",
           "unemployment_rate": "unemployment in your region",
           "entitlement_days": "how long you are entitled to benefit", "sex": "your sex",
           "migration_background": "your migration background"},
}

TEXT = {
    "nl": {
        "subject": "Uw WW-uitkering: het advies over uw begeleiding",
        "greeting": "Beste {name},",
        "intro": ("U hebt een WW-uitkering. Om u zo goed mogelijk te helpen bij het vinden van "
                  "werk, gebruiken wij een statistisch hulpmiddel. Het maakt een inschatting op "
                  "basis van gegevens over uw werkverleden en de arbeidsmarkt, en vergelijkt die "
                  "met mensen die eerder een WW-uitkering hadden. In deze brief leest u wat het "
                  "advies is en waarom."),
        "advice_head": "Het advies",
        "route_A": "Het advies is dat u zelf op zoek gaat naar werk, met hulp van onze online "
                   "diensten en vacatures.",
        "route_B": "Het advies is dat een re-integratiecoach u persoonlijk begeleidt bij het "
                   "zoeken naar werk.",
        "trajectory": "Het advies is ook om u een re-integratietraject aan te bieden, zoals een "
                      "opleiding of training.",
        "no_trajectory": "Een re-integratietraject wordt op dit moment niet geadviseerd.",
        "monitoring_medium": "Uw coach bespreekt de afspraken over uw plichten (zoals solliciteren) "
                             "wat vaker met u.",
        "monitoring_high": "Uw coach bespreekt de afspraken over uw plichten (zoals solliciteren) "
                           "vaker en uitgebreider met u. Dit is geen straf en geen maatregel.",
        "wwb": "Omdat uw WW-uitkering eindigt voordat u misschien werk hebt, bereiden wij op tijd "
               "met uw gemeente voor wat er daarna kan gebeuren.",
        "factors_head": "Wat zwaar woog",
        "factors_intro": "Bij de inschatting van uw kans op werk binnen zes maanden wogen deze "
                         "punten het zwaarst, vergeleken met een gemiddelde klant:",
        "raises": "{what}: dit maakt uw kans op werk groter",
        "lowers": "{what}: dit maakt uw kans op werk kleiner",
        "no_protected": "Uw geslacht en uw afkomst worden niet gebruikt voor dit advies.",
        "protected_used": "Voor dit advies worden ook deze gegevens gebruikt: {what}. Daartoe is "
                          "bewust besloten en dat is vastgelegd.",
        "decides_head": "Wie beslist",
        "decides": ("Het model geeft alleen een advies. Uw re-integratiecoach beslist, niet het "
                    "model. De coach bespreekt het advies met u, kijkt naar uw eigen situatie en "
                    "kan van het advies afwijken. Als de coach afwijkt, wordt de reden "
                    "vastgelegd."),
        "object_head": "Bent u het er niet mee eens?",
        "review": ("U kunt altijd aan uw coach vragen om het advies opnieuw te bekijken, of vragen "
                   "dat een andere medewerker ernaar kijkt. U mag daarbij uitleggen waarom u het "
                   "er niet mee eens bent. U hebt recht op een beoordeling door een mens (artikel "
                   "22 van de Algemene verordening gegevensbescherming)."),
        "objection": ("Neemt UWV een besluit over u, bijvoorbeeld over een traject of uw "
                      "uitkering? Dan kunt u daartegen binnen zes weken na de datum van dat besluit "
                      "bezwaar maken (Algemene wet bestuursrecht, artikel 6:7). In het besluit "
                      "staat hoe en waar u bezwaar maakt."),
        "data": "U mag ook vragen welke gegevens wij over u gebruiken, en vragen die te "
                "verbeteren als ze niet kloppen.",
        "contact": "Vragen? Neem contact op met {contact}.",
        "contact_default": "Vragen? Bespreek ze met uw coach.",
        "closing": "Met vriendelijke groet,",
        "sender": "{sender}",
        "sender_default": "Uw re-integratiecoach",
        "client": "klantnummer {client_id}",
    },
    "en": {
        "subject": "Your unemployment benefit (WW): the advice on your support",
        "greeting": "Dear {name},",
        "intro": ("You receive unemployment benefit (WW). To help you find work as well as we "
                  "can, we use a statistical tool. It makes an estimate from information about "
                  "your working life and the labour market, and compares it with people who "
                  "received unemployment benefit before. This letter tells you what the advice "
                  "is and why."),
        "advice_head": "The advice",
        "route_A": "The advice is that you look for work yourself, with help from our online "
                   "services and vacancies.",
        "route_B": "The advice is that a reintegration coach supports you in person while you "
                   "look for work.",
        "trajectory": "The advice is also to offer you a reintegration programme, such as a "
                      "course or training.",
        "no_trajectory": "A reintegration programme is not advised at the moment.",
        "monitoring_medium": "Your coach will discuss the agreements about your obligations "
                             "(such as applying for jobs) with you a little more often.",
        "monitoring_high": "Your coach will discuss the agreements about your obligations "
                           "(such as applying for jobs) with you more often and in more detail. "
                           "This is not a penalty and not a sanction.",
        "wwb": "Because your benefit may end before you have found work, we will prepare in good "
               "time, together with your municipality, what can happen after that.",
        "factors_head": "What weighed most",
        "factors_intro": "In the estimate of your chance of finding work within six months, these "
                         "points weighed most, compared with an average client:",
        "raises": "{what}: this makes your chance of work larger",
        "lowers": "{what}: this makes your chance of work smaller",
        "no_protected": "Your sex and your origin are not used for this advice.",
        "protected_used": "This advice also uses the following information: {what}. That was "
                          "decided deliberately and is recorded.",
        "decides_head": "Who decides",
        "decides": ("The model only gives advice. Your reintegration coach decides, not the "
                    "model. The coach discusses the advice with you, looks at your own "
                    "situation and can depart from the advice. If the coach does, the reason is "
                    "recorded."),
        "object_head": "Do you disagree?",
        "review": ("You can always ask your coach to look at the advice again, or ask for "
                   "another member of staff to look at it. You may explain why you disagree. You "
                   "have the right to a review by a person (Article 22 of the General Data "
                   "Protection Regulation)."),
        "objection": ("If UWV takes a decision about you, for example about a programme or your "
                      "benefit, you can lodge an objection (bezwaar) within six weeks of the "
                      "date of that decision (General Administrative Law Act, Article 6:7). The "
                      "decision itself says how and where to object."),
        "data": "You may also ask which information about you we use, and ask us to correct it "
                "if it is wrong.",
        "contact": "Questions? Contact {contact}.",
        "contact_default": "Questions? Discuss them with your coach.",
        "closing": "Kind regards,",
        "sender": "{sender}",
        "sender_default": "Your reintegration coach",
        "client": "client number {client_id}",
    },
}

LANGUAGES = tuple(TEXT)
