"""Write labelled.jsonl: user turns in context, labelled SAT / DSAT / neither with SPUR categories.

How it was made, honestly: one engineer wrote everything below by hand in an afternoon: 33 short conversations
(bookings, customer support and open chat), a few lines per conversation that only fit it (a factual correction, a
specific revision, a clarifying question, an answer to the assistant's question), and pools of feedback phrasings
per category that fit any conversation ({thing} names what the assistant produced). This script combines them with
a fixed seed, varies casing and punctuation the way people type, and sometimes puts a greeting exchange in front,
so each turn has 2 to 6 prior messages. The labels are the author's and were never checked by a second person.

To keep the held-out figures from measuring memorised templates, the split is by group, not by line: 10 of the 33
conversations (picked to cover bookings, support and open chat) and a random 30% of each pool's phrasings are
"test", and a test turn is a test phrasing in a test conversation. No test line or context occurs in training,
though short pool lines can be near neighbours across the split ("ok" in one, "ok got it" in the other). It is still one author's idea of how users talk,
cleaner and more explicit than real logs (WildChat turns are longer, noisier and often multilingual), so expect
figures here to be higher than on real traffic; real logs labelled by someone else are the proper next test.

The author looked at the held-out errors of the first model (trained with folds that leaked phrasings) before
fixing the folds, adding general cues and writing the train-only EXTRA_* block at the end; the held-out rows
themselves were never changed after that, and no threshold or setting was chosen on them.

    .venv/bin/python -m feedback.signals.data.make_labelled   # rewrites labelled.jsonl next to this file
"""

# ruff: noqa: E501  (hand-written lines stay one per line, so they read as data)

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("labelled.jsonl")
SEED = 13
TEST_SHARE = 0.3
# Held-out conversations, picked by hand so the test side has bookings, support and open chat (10 of 33).
TEST_CONVERSATIONS = {"train-berlin", "doctor", "museum", "refund", "cancel-subscription", "sql-join",
                      "itinerary-rome", "small-talk", "photosynthesis", "poem-cat"}

# --- conversations ---------------------------------------------------------------------------------------------
# history: alternating user/assistant, ending with the assistant reply the labelled turn reacts to.
# Specific lines: (kind, text, sat categories + dsat categories). Kinds starting "neg:" are hard negatives.

GREETINGS = [
    ("hi", "Hi! How can I help you today?"),
    ("hello there", "Hello! What can I do for you?"),
    ("hey, quick question", "Sure, go ahead."),
    ("good morning", "Good morning! How can I help?"),
]

CONVERSATIONS = [
    {
        "id": "hotel-lisbon", "domain": "booking", "thing": "the booking",
        "history": [
            ("I need a hotel in Lisbon from 12 to 15 March for two adults, under 150 euros a night.",
             "I found Hotel Alfama Rio, 132 EUR per night, double room, breakfast included. Shall I reserve it?"),
        ],
        "lines": [
            ("factual_error", "15 March is the checkout, so that's three nights, not four like you wrote", ["factual_error"]),
            ("revision", "Can you find something closer to the city center instead?", ["revision"]),
            ("ignored", "I said under 150 and you're showing me prices with tax at 171", ["ignored"]),
            ("neg:answer", "Yes please, go ahead and reserve it", []),
            ("neg:clarify", "Is the breakfast included for both of us or per room?", []),
            ("personal_details", "Perfect, it's our 10th anniversary so we wanted somewhere nice", ["personal_details"]),
            ("neg:typo", "oops, I meant 12 to 16 March, sorry, my mistake", []),
        ],
    },
    {
        "id": "restaurant-friday", "domain": "booking", "thing": "the reservation",
        "history": [
            ("Book a table for 6 at an Italian place near Union Square, Friday 8pm.",
             "Trattoria Sole has a table for 6 at 8:15pm on Friday. Would that work, or should I look for 8:00?"),
        ],
        "lines": [
            ("neg:answer", "8:15 is fine", []),
            ("ignored", "I asked for 8pm sharp, not 8:15", ["ignored"]),
            ("factual_error", "Trattoria Sole closed last year, it's not there anymore", ["factual_error"]),
            ("neg:clarify", "Do they have a vegan option on the menu?", []),
            ("getting_there", "Close. Can it be outdoor seating though? Then it's perfect", ["getting_there"]),
            ("neg:typo", "sorry, table for 5 not 6, typo", []),
        ],
    },
    {
        "id": "train-berlin", "domain": "booking", "thing": "the connection",
        "history": [
            ("hi", "Hello! How can I help?"),
            ("Next train from Munich to Berlin tomorrow morning?",
             "The ICE 1006 leaves Munich Hbf at 8:40 and arrives in Berlin Hbf at 12:35. Do you want a seat reservation?"),
        ],
        "lines": [
            ("factual_error", "the ICE 1006 leaves at 9:40, not 8:40, I'm looking at the app right now", ["factual_error"]),
            ("neg:answer", "No, I don't need a reservation, thanks", []),
            ("neg:clarify", "Is that a direct train or do I change in Nuremberg?", []),
            ("getting_there", "OK that's one. Is there anything a bit earlier, around 7?", ["getting_there"]),
            ("compliance", "Good idea, yes, add the seat reservation", ["compliance"]),
        ],
    },
    {
        "id": "flight-change", "domain": "support", "thing": "the flight change",
        "history": [
            ("I want to move my flight LX318 from Tuesday to Thursday.",
             "I can move you to LX318 on Thursday at 07:05. The fare difference is 48 CHF. Shall I confirm?"),
        ],
        "lines": [
            ("unrealistic_expectation", "Just waive the 48 francs for me, you can do that", ["unrealistic_expectation"]),
            ("neg:answer", "Yes, confirm it", []),
            ("neg:clarify", "Does the fare difference include the bag I added?", []),
            ("ignored", "I told you I can't do early mornings, 07:05 is exactly what I didn't want", ["ignored"]),
            ("personal_details", "ok. it's for my sister's wedding so I really can't miss it", ["personal_details"]),
        ],
    },
    {
        "id": "router-support", "domain": "support", "thing": "the instructions",
        "history": [
            ("My wifi keeps dropping every few minutes.",
             "Please restart your router: unplug it for 30 seconds, plug it back in and wait until the light is green."),
        ],
        "lines": [
            ("negative_feedback", "I already did that five times. This is useless.", ["negative_feedback"]),
            ("compliance", "ok doing it now, give me a minute", ["compliance"]),
            ("neg:clarify", "Which light, the power one or the one with the globe?", []),
            ("getting_there", "That helped for a while, it drops less now but still every hour or so", ["getting_there"]),
            ("unrealistic_expectation", "Can't you just reset it from your side remotely? Why do I have to do everything", ["unrealistic_expectation"]),
            ("insufficient_detail", "Restart it how? There are three boxes here, be more specific", ["insufficient_detail"]),
        ],
    },
    {
        "id": "refund", "domain": "support", "thing": "the answer",
        "history": [
            ("I returned the jacket two weeks ago and still have no refund.",
             "Refunds are processed within 14 business days after the item reaches our warehouse."),
            ("It reached the warehouse on the 3rd according to tracking.",
             "Thanks. Then your refund should arrive by the 21st at the latest."),
        ],
        "lines": [
            ("factual_error", "14 business days from the 3rd is the 23rd, not the 21st", ["factual_error"]),
            ("no_engagement", "sure.", ["no_engagement"]),
            ("acknowledgment", "ok, noted, I'll wait until then", ["acknowledgment"]),
            ("negative_feedback", "That's a canned reply. I want to know where my money is", ["negative_feedback"]),
            ("neg:clarify", "Will it go back to my card or as store credit?", []),
        ],
    },
    {
        "id": "password-reset", "domain": "support", "thing": "the steps",
        "history": [
            ("I can't log into my account, I forgot my password",
             "Go to the login page, click 'Forgot password', and follow the link we email you."),
        ],
        "lines": [
            ("ignored", "I told you I no longer have access to that email address", ["ignored"]),
            ("compliance", "Ok, clicking it now", ["compliance"]),
            ("gratitude", "That worked, thank you!", ["gratitude"]),
            ("neg:clarify", "How long is the link valid for?", []),
            ("insufficient_detail", "There is no 'forgot password' button on the app. Where exactly is it?", ["insufficient_detail"]),
        ],
    },
    {
        "id": "cancel-subscription", "domain": "support", "thing": "the explanation",
        "history": [
            ("How do I cancel my subscription?",
             "Before you go, did you know you can pause your plan for up to three months instead of cancelling?"),
        ],
        "lines": [
            ("ignored", "I didn't ask about pausing. How do I cancel?", ["ignored"]),
            ("negative_feedback", "Stop trying to upsell me, this is annoying", ["negative_feedback"]),
            ("compliance", "Oh, pausing actually sounds better, let's do that", ["compliance"]),
            ("neg:clarify", "If I pause, am I charged during those months?", []),
        ],
    },
    {
        "id": "delivery", "domain": "support", "thing": "the update",
        "history": [
            ("Where is my order 88231?",
             "Your order 88231 was shipped yesterday with DHL and should arrive on Thursday."),
        ],
        "lines": [
            ("factual_error", "It was shipped with UPS, the email I got says UPS", ["factual_error"]),
            ("acknowledgment", "got it", ["acknowledgment"]),
            ("positive_closure", "Great, that's all I needed. Have a nice day!", ["positive_closure", "gratitude"]),
            ("neg:clarify", "Can I get the tracking number?", []),
            ("neg:typo", "wait, I meant order 88321, not 88231", []),
            ("unrealistic_expectation", "Can you make it come tomorrow instead? I really need it", ["unrealistic_expectation"]),
        ],
    },
    {
        "id": "doctor", "domain": "booking", "thing": "the appointment",
        "history": [
            ("I need an appointment with a dermatologist next week.",
             "Dr. Meyer has a slot on Wednesday at 10:30 or Friday at 15:00. Which one would you prefer?"),
        ],
        "lines": [
            ("neg:answer", "Friday at 3 please", []),
            ("neg:answer", "Neither works, I work until 5 every day", []),
            ("personal_details", "Wednesday. I've had this rash for a month and I'm honestly a bit worried", ["personal_details"]),
            ("neg:clarify", "Is Dr. Meyer covered by public insurance?", []),
            ("getting_there", "Friday could work if it's the last slot of the day, is there anything later?", ["getting_there"]),
        ],
    },
    {
        "id": "car-rental", "domain": "booking", "thing": "the quote",
        "history": [
            ("Rent me an automatic car in Faro from June 2 to June 9.",
             "A Renault Clio, manual, is available for 210 EUR for the week, with basic insurance."),
        ],
        "lines": [
            ("ignored", "I specifically asked for an automatic. I can't drive manual.", ["ignored"]),
            ("neg:clarify", "Does the basic insurance cover the excess?", []),
            ("personal_details", "We're four with two big suitcases, it's our first trip with the baby", ["personal_details"]),
            ("revision", "Show me the same with full insurance instead", ["revision"]),
        ],
    },
    {
        "id": "museum", "domain": "booking", "thing": "the tickets",
        "history": [
            ("Two tickets for the Rijksmuseum on Monday.",
             "Two adult tickets for Monday, 10:00 entry, 45 EUR in total. Should I add the audio guide?"),
        ],
        "lines": [
            ("neg:answer", "No audio guide, thanks", []),
            ("compliance", "Yes add the audio guide, good idea", ["compliance"]),
            ("neg:typo", "*Tuesday, sorry, not Monday", []),
            ("factual_error", "The Rijksmuseum is open on Mondays, sure, but adult tickets are 25 each now, not 22.50", ["factual_error"]),
        ],
    },
    {
        "id": "python-dedupe", "domain": "coding", "thing": "the code",
        "history": [
            ("How do I remove duplicates from a list in Python but keep the order?",
             "Use `list(dict.fromkeys(items))`. Dicts keep insertion order since Python 3.7, so the first copy of each "
             "value stays in place."),
        ],
        "lines": [
            ("learning", "Oh neat, I didn't know dicts kept their order. That's useful.", ["learning"]),
            ("praise", "One line, beautiful. That's exactly the kind of answer I like", ["praise"]),
            ("neg:followup", "And what if the items are dicts themselves, which aren't hashable?", []),
            ("revision", "Can you write it as a function with a docstring and a test?", ["revision"]),
            ("humor", "lol I wrote a 20 line loop for this yesterday", ["humor"]),
        ],
    },
    {
        "id": "sql-join", "domain": "coding", "thing": "the query",
        "history": [
            ("Write a SQL query for customers who never placed an order.",
             "SELECT c.* FROM customers c INNER JOIN orders o ON o.customer_id = c.id WHERE o.id IS NULL;"),
        ],
        "lines": [
            ("factual_error", "An INNER JOIN can never give you NULL order ids, that has to be a LEFT JOIN", ["factual_error"]),
            ("negative_feedback", "This returns nothing. Did you even test it?", ["negative_feedback"]),
            ("neg:followup", "How would I also count how many such customers there are per country?", []),
            ("neg:clarify", "What does the c.* mean exactly?", []),
            ("getting_there", "Almost, with a LEFT JOIN it works. Now how do I exclude the deleted customers?", ["getting_there"]),
        ],
    },
    {
        "id": "regex-email", "domain": "coding", "thing": "the regex",
        "history": [
            ("regex to check an email address?",
             "A simple one: `^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$`. It checks for one @ and a dot in the domain; full RFC "
             "validation needs a library."),
        ],
        "lines": [
            ("learning", "ahh so that's why people say never validate email with regex. makes sense now", ["learning"]),
            ("acknowledgment", "ok", ["acknowledgment"]),
            ("insufficient_detail", "Can you explain each part of it? I can't read regex at all", ["insufficient_detail"]),
            ("neg:followup", "Which library would you recommend for the full check?", []),
        ],
    },
    {
        "id": "js-bug", "domain": "coding", "thing": "the fix",
        "history": [
            ("Why does my for loop with var print 5 five times in setTimeout?",
             "Because `var` is function-scoped: all callbacks share one `i`, which is 5 when they run. Use `let`, which "
             "creates a new binding per iteration."),
            ("so just change var to let?",
             "Yes, `for (let i = 0; i < 5; i++)` prints 0 to 4."),
        ],
        "lines": [
            ("gratitude", "thank you so much, been stuck on this for an hour", ["gratitude"]),
            ("positive_closure", "works! that's it for today, cheers", ["positive_closure", "gratitude"]),
            ("humor", "javascript never stops surprising me haha", ["humor"]),
            ("compliance", "Changed it, running it again now", ["compliance"]),
        ],
    },
    {
        "id": "cover-letter", "domain": "writing", "thing": "the letter",
        "history": [
            ("Write a cover letter for a junior data analyst job at a bank. I know SQL and Excel.",
             "Dear Hiring Manager,\n\nI am writing to express my strong interest in the Junior Data Analyst position..."
             " [four paragraphs follow]"),
        ],
        "lines": [
            ("revision", "Make it half as long, nobody reads four paragraphs", ["revision"]),
            ("style", "It sounds so stiff. Can it sound like a real person wrote it?", ["style"]),
            ("ignored", "You didn't mention SQL or Excel at all, which was the whole point", ["ignored"]),
            ("personal_details", "Good start. I'm switching from teaching, so I'm a bit nervous about this application", ["personal_details"]),
            ("lower_quality", "The one you wrote me last time was way better than this", ["lower_quality"]),
        ],
    },
    {
        "id": "poem-cat", "domain": "creative", "thing": "the poem",
        "history": [
            ("Write a short poem about my cat who sleeps all day.",
             "Upon the sill in golden light,\nMy cat dreams on from morn to night..."),
        ],
        "lines": [
            ("praise", "This is adorable, you nailed her personality", ["praise"]),
            ("humor", "haha 'from morn to night' is accurate, she is the laziest creature alive", ["humor"]),
            ("style", "Less old-fashioned please, no 'upon' and 'morn'", ["style"]),
            ("personal_details", "Aww. Her name is Miso, she's 14 and mostly blind now", ["personal_details"]),
            ("revision", "Can you make it rhyme in a limerick form instead?", ["revision"]),
        ],
    },
    {
        "id": "history-ww1", "domain": "education", "thing": "the explanation",
        "history": [
            ("What started World War 1?",
             "It began after the assassination of Archduke Franz Ferdinand in Sarajevo in 1914, which set off a chain "
             "of alliances and ultimatums."),
        ],
        "lines": [
            ("insufficient_detail", "That's just the trigger. What were the deeper causes?", ["insufficient_detail"]),
            ("learning", "I always thought it was more complicated, but the alliance chain explains a lot", ["learning"]),
            ("neg:followup", "And why did the US join so late?", []),
            ("factual_error", "The assassination was in June 1914 but the war started in July, you make it sound instant", ["factual_error"]),
        ],
    },
    {
        "id": "photosynthesis", "domain": "education", "thing": "the explanation",
        "history": [
            ("explain photosynthesis to a 10 year old",
             "Plants are like little kitchens! They take sunlight, water and air, and cook them into sugar for food, "
             "giving out oxygen that we breathe."),
        ],
        "lines": [
            ("praise", "That's a great way to put it, my son got it right away", ["praise", "personal_details"]),
            ("lower_quality", "Hmm, the textbook explains it better than this", ["lower_quality"]),
            ("insufficient_detail", "Good, but he asked what the 'air' part is. Can you go a bit deeper on that?", ["insufficient_detail"]),
            ("neg:new_topic", "Now how do volcanoes work?", []),
        ],
    },
    {
        "id": "recipe-curry", "domain": "cooking", "thing": "the recipe",
        "history": [
            ("Give me a vegetarian curry for 4, no coconut milk please.",
             "Chickpea curry: fry onion, garlic and ginger, add spices, tomatoes and 400 ml coconut milk, then chickpeas..."),
        ],
        "lines": [
            ("ignored", "I said NO coconut milk", ["ignored"]),
            ("neg:clarify", "Can I use dried chickpeas instead of canned?", []),
            ("getting_there", "looks good, if I swap the coconut milk for yogurt would it still work?", ["getting_there"]),
            ("personal_details", "my partner is allergic to coconut, that's why I asked", ["personal_details"]),
        ],
    },
    {
        "id": "recipe-bread", "domain": "cooking", "thing": "the recipe",
        "history": [
            ("simple no-knead bread recipe?",
             "Mix 500 g flour, 1 tsp yeast, 2 tsp salt and 400 ml water. Rest 12-18 hours, shape, then bake in a hot "
             "dutch oven at 240 C for 30 min covered and 15 min uncovered."),
        ],
        "lines": [
            ("compliance", "Mixing it tonight then, will bake tomorrow", ["compliance"]),
            ("gratitude", "thanks a ton", ["gratitude"]),
            ("neg:clarify", "What if I don't have a dutch oven?", []),
            ("factual_error", "400 ml for 500 g is 80% hydration, that's way too wet for a beginner, I think you mean 350", ["factual_error"]),
            ("humor", "my last loaf could have been used as a doorstop, let's hope this goes better", ["humor"]),
        ],
    },
    {
        "id": "workout", "domain": "health", "thing": "the plan",
        "history": [
            ("I want a 3-day workout plan, I only have dumbbells at home.",
             "Day 1: push (press, flyes, triceps). Day 2: pull (rows, curls). Day 3: legs (goblet squats, lunges, "
             "deadlifts). 3 sets of 10 each."),
        ],
        "lines": [
            ("insufficient_detail", "How heavy? How long rests? This is too bare", ["insufficient_detail"]),
            ("personal_details", "Nice. I'm 52 and just getting back after a knee surgery, so legs worry me a bit", ["personal_details"]),
            ("compliance", "ok I'll start Monday with day 1", ["compliance"]),
            ("revision", "Can you put it in a table with sets, reps and rest?", ["revision"]),
        ],
    },
    {
        "id": "itinerary-rome", "domain": "travel", "thing": "the itinerary",
        "history": [
            ("Plan 2 days in Rome for me, I like history and food.",
             "Day 1: Colosseum, Forum, Palatine, dinner in Monti. Day 2: Vatican Museums, St Peter's, evening in "
             "Trastevere."),
        ],
        "lines": [
            ("getting_there", "Good bones. Can you add where to eat lunch each day?", ["getting_there"]),
            ("factual_error", "The Vatican Museums are closed on Sundays and day 2 is a Sunday for me", ["factual_error"]),
            ("praise", "this is a great plan, exactly my kind of trip", ["praise"]),
            ("neg:followup", "How do I get from the Colosseum to the Vatican?", []),
            ("neg:typo", "sorry, I meant 3 days, not 2", []),
        ],
    },
    {
        "id": "math-derivative", "domain": "education", "thing": "the solution",
        "history": [
            ("derivative of x^2 * sin(x)?",
             "By the product rule: 2x sin(x) + x^2 cos(x)."),
        ],
        "lines": [
            ("learning", "Oh right, product rule, I kept forgetting the second term. Got it now", ["learning"]),
            ("insufficient_detail", "Can you show the steps? My teacher wants the working", ["insufficient_detail"]),
            ("acknowledgment", "ok thx", ["acknowledgment", "gratitude"]),
            ("neg:new_topic", "what's the integral of 1/x", []),
        ],
    },
    {
        "id": "translate", "domain": "writing", "thing": "the translation",
        "history": [
            ("Translate to Spanish: 'We will arrive late because of the storm.'",
             "Llegaremos tarde a causa de la tormenta."),
        ],
        "lines": [
            ("neg:followup", "And how would you say it more casually, to a friend?", []),
            ("getting_there", "'a causa de' is fine, but a native speaker told me 'por la tormenta' is more natural", ["getting_there"]),
            ("acknowledgment", "perfect", ["acknowledgment"]),
            ("neg:new_topic", "now translate 'I'm allergic to nuts' into Japanese", []),
        ],
    },
    {
        "id": "landlord-email", "domain": "writing", "thing": "the email",
        "history": [
            ("Help me write an email to my landlord, the heating has been broken for a week.",
             "Dear Mr. Jansen, I hope this message finds you well. I wanted to kindly bring to your attention..."),
        ],
        "lines": [
            ("style", "Too polite. It's been a week, I want it firm", ["style"]),
            ("revision", "Add that I'll withhold part of the rent if it isn't fixed by Friday", ["revision"]),
            ("personal_details", "We have a newborn at home, it's really cold at night", ["personal_details"]),
            ("compliance", "That's good, sending it as is", ["compliance"]),
        ],
    },
    {
        "id": "summary", "domain": "writing", "thing": "the summary",
        "history": [
            ("Summarize this article in 3 bullet points: [article about remote work and productivity]",
             "- Remote work raised productivity for focused tasks\n- Collaboration suffered in new teams\n- Hybrid "
             "models were the most popular compromise\n- Managers worried about culture"),
        ],
        "lines": [
            ("ignored", "I asked for 3 bullets, you gave me 4", ["ignored"]),
            ("acknowledgment", "ok got it", ["acknowledgment"]),
            ("insufficient_detail", "Can you add the numbers they cite? These are too general", ["insufficient_detail"]),
            ("neg:followup", "Which of these had the strongest evidence in the article?", []),
        ],
    },
    {
        "id": "gift-ideas", "domain": "chat", "thing": "the ideas",
        "history": [
            ("gift ideas for my dad who likes fishing, budget 50",
             "A quality tackle box, a personalised fishing knife, polarised sunglasses, or a fishing-trip guidebook "
             "for his region."),
        ],
        "lines": [
            ("no_engagement", "meh", ["no_engagement"]),
            ("humor", "he already owns every tackle box on earth lol", ["humor"]),
            ("lower_quality", "These are so generic, the list you gave me for my mom was much more thoughtful", ["lower_quality"]),
            ("compliance", "the sunglasses are a good call, ordering them", ["compliance"]),
            ("personal_details", "he's retiring next month after 40 years at the same factory", ["personal_details"]),
        ],
    },
    {
        "id": "small-talk", "domain": "chat", "thing": "the reply",
        "history": [
            ("I had a rough day at work",
             "I'm sorry to hear that. Do you want to talk about what happened?"),
        ],
        "lines": [
            ("personal_details", "My manager took credit for my project in front of everyone", ["personal_details"]),
            ("no_engagement", "not really", ["no_engagement"]),
            ("neg:answer", "Maybe later, I just wanted to vent", []),
            ("gratitude", "thanks for asking, that's nice of you", ["gratitude"]),
        ],
    },
    {
        "id": "movie-rec", "domain": "chat", "thing": "the recommendations",
        "history": [
            ("recommend me a sci-fi movie, not too long",
             "Try 'Arrival' (116 min), 'Ex Machina' (108 min) or 'Moon' (97 min)."),
        ],
        "lines": [
            ("ignored", "I've seen all three, I told you I want something new", ["ignored"]),
            ("compliance", "Moon it is, never heard of it", ["compliance"]),
            ("factual_error", "Moon is not 97 minutes, it's closer to 100... and Arrival is 2016, not 2015", ["factual_error"]),
            ("positive_closure", "perfect, movie night sorted. bye!", ["positive_closure"]),
            ("neg:new_topic", "different question: how long should I steep green tea?", []),
        ],
    },
    {
        "id": "tax-question", "domain": "advice", "thing": "the answer",
        "history": [
            ("Can I deduct my home office in Germany?",
             "Yes, since 2023 you can claim a flat 6 EUR per home-office day, up to 1,260 EUR a year."),
        ],
        "lines": [
            ("unrealistic_expectation", "Then fill in my tax return for me, you have all the info", ["unrealistic_expectation"]),
            ("learning", "Oh I didn't know there was a flat rate now, good to know", ["learning"]),
            ("neg:clarify", "Does that count days when I worked only half a day at home?", []),
            ("neg:typo", "I meant Austria, not Germany, autocorrect", []),
        ],
    },
    {
        "id": "stock-tip", "domain": "advice", "thing": "the answer",
        "history": [
            ("Which stock will go up the most next month?",
             "I can't predict stock prices. A diversified index fund is usually a better choice than trying to pick "
             "next month's winner."),
        ],
        "lines": [
            ("unrealistic_expectation", "Come on, just give me one name, you're an AI, you must know", ["unrealistic_expectation"]),
            ("no_engagement", "whatever", ["no_engagement"]),
            ("compliance", "fair enough, which index fund would you start with?", ["compliance"]),
            ("negative_feedback", "What a cop-out answer", ["negative_feedback"]),
        ],
    },
]

# --- pools that fit any conversation (phrasings of feedback on "{thing}") ----------------------------------------
# Each entry: (text, categories). The category key is the main one; entries may add a second.

POOLS: dict[str, list[tuple[str, list[str]]]] = {
    "gratitude": [
        ("Thanks!", ["gratitude"]), ("thank you, that helps", ["gratitude"]), ("thx", ["gratitude"]),
        ("Thank you very much for {thing}.", ["gratitude"]), ("cheers, appreciate it", ["gratitude"]),
        ("many thanks", ["gratitude"]), ("Thanks a lot, really appreciated.", ["gratitude"]),
        ("ty!!", ["gratitude"]), ("Much obliged.", ["gratitude"]), ("thank u so much", ["gratitude"]),
        ("I appreciate the help with {thing}", ["gratitude"]), ("Danke, super hilfreich", ["gratitude"]),
        ("You've been a big help, thank you", ["gratitude"]), ("thanks heaps mate", ["gratitude"]),
    ],
    "learning": [
        ("Oh, I never knew that.", ["learning"]), ("That makes sense now, thanks for explaining", ["learning", "gratitude"]),
        ("TIL! interesting", ["learning"]), ("So that's how it works. Finally clicked for me.", ["learning"]),
        ("Huh, I learned something today", ["learning"]), ("ahh now I understand the difference", ["learning"]),
        ("Interesting, so the trick is in the order. Good to know.", ["learning"]),
        ("wow I had this completely wrong in my head", ["learning"]),
        ("Ok that clears up my confusion", ["learning"]), ("this explains so much", ["learning"]),
        ("I finally get it, nobody ever explained it like that", ["learning"]),
        ("Right, that was the bit I was missing", ["learning"]),
    ],
    "compliance": [
        ("OK, I'll do that.", ["compliance"]), ("Sounds good, let's go with your suggestion", ["compliance"]),
        ("alright, trying it now", ["compliance"]), ("Fine, I'll follow your advice", ["compliance"]),
        ("Good idea, I'll go with that", ["compliance"]), ("Let's do it your way", ["compliance"]),
        ("yes let's book that one", ["compliance"]), ("I'll try {thing} and report back", ["compliance"]),
        ("Will do.", ["compliance"]), ("taking your advice, thanks", ["compliance", "gratitude"]),
        ("ok going with option one", ["compliance"]), ("Done, I followed the steps", ["compliance"]),
    ],
    "praise": [
        ("This is excellent.", ["praise"]), ("wow, {thing} is perfect", ["praise"]),
        ("You're really good at this", ["praise"]), ("Brilliant answer!", ["praise"]),
        ("Nailed it.", ["praise"]), ("This is exactly what I wanted, great job", ["praise"]),
        ("best answer I've had all week", ["praise"]), ("Superb, very clear.", ["praise"]),
        ("love it!!", ["praise"]), ("Impressive, you thought of everything", ["praise"]),
        ("10/10 would ask again", ["praise", "humor"]), ("That's so well written", ["praise"]),
    ],
    "personal_details": [
        ("I'm asking because my mother just got diagnosed and I'm trying to understand it", ["personal_details"]),
        ("For context, I'm a single dad with two kids and very little free time", ["personal_details"]),
        ("I'm a nurse on night shifts so my schedule is weird", ["personal_details"]),
        ("We just moved here from Brazil last month, so everything is new", ["personal_details"]),
        ("I'm 17 and this is my first job application", ["personal_details"]),
        ("Honestly I have ADHD so shorter steps help me a lot", ["personal_details"]),
        ("My wife and I are expecting twins in May", ["personal_details"]),
        ("I'm retired and finally have time for stuff like this", ["personal_details"]),
        ("I use a wheelchair, so accessibility matters for me", ["personal_details"]),
        ("I lost my job in March and I'm trying to be careful with money", ["personal_details"]),
        ("I'm dyslexic, so I appreciate it being simple", ["personal_details", "gratitude"]),
    ],
    "humor": [
        ("haha love it", ["humor"]), ("lmao that's exactly my life", ["humor"]),
        ("😂 ok that made me laugh", ["humor"]), ("hahaha you're funnier than my coworkers", ["humor", "praise"]),
        ("My cat approves of {thing}. Probably.", ["humor"]), ("lol fair enough", ["humor"]),
        ("I'm stealing that line, you'll get no credit 😄", ["humor"]),
        ("haha if only my boss was as reasonable as you", ["humor"]),
        ("lol okay robot, you win this round", ["humor"]), ("that's hilarious, keep going", ["humor"]),
        ("Ha! Didn't expect a pun from you", ["humor"]),
    ],
    "acknowledgment": [
        ("ok", ["acknowledgment"]), ("Got it.", ["acknowledgment"]), ("understood", ["acknowledgment"]),
        ("Alright.", ["acknowledgment"]), ("noted", ["acknowledgment"]), ("okay makes sense", ["acknowledgment"]),
        ("k, clear", ["acknowledgment"]), ("Right, okay.", ["acknowledgment"]), ("I see.", ["acknowledgment"]),
        ("yep", ["acknowledgment"]), ("Fair enough.", ["acknowledgment"]), ("sure, ok", ["acknowledgment"]),
    ],
    "positive_closure": [
        ("That's all, thanks! Bye", ["positive_closure", "gratitude"]), ("Great, that settles it. Have a good one!", ["positive_closure"]),
        ("Perfect, I'm all set now", ["positive_closure"]), ("That's everything I needed, goodnight!", ["positive_closure"]),
        ("ok we're done here, great help", ["positive_closure", "praise"]), ("All sorted, see you next time", ["positive_closure"]),
        ("nothing else, have a lovely evening", ["positive_closure"]), ("Wonderful, I'll leave it there. Take care!", ["positive_closure"]),
        ("done and dusted, bye 👋", ["positive_closure"]), ("Brilliant, signing off now", ["positive_closure"]),
        ("that wraps it up, cheers!", ["positive_closure", "gratitude"]),
    ],
    "getting_there": [
        ("Closer, but not quite there yet. Keep the first part and change the ending", ["getting_there"]),
        ("Better! Now just the second half needs work", ["getting_there"]),
        ("We're getting somewhere. Can you tweak the last step?", ["getting_there"]),
        ("Halfway there. The first part is right, the rest not yet", ["getting_there"]),
        ("ok that's an improvement, one more small change", ["getting_there"]),
        ("Nearly, just adjust the numbers a bit", ["getting_there"]),
        ("yes this direction is good, let's build on it", ["getting_there"]),
        ("That's most of it. What about the part I mentioned at the start?", ["getting_there"]),
        ("Good, that fixes one issue. The other one is still there though", ["getting_there"]),
        ("Almost perfect, just one thing", ["getting_there"]),
    ],
    "negative_feedback": [
        ("This is wrong and unhelpful.", ["negative_feedback"]), ("no, that's not it at all", ["negative_feedback"]),
        ("That's a terrible answer", ["negative_feedback"]), ("useless", ["negative_feedback"]),
        ("{thing} doesn't help me at all", ["negative_feedback"]), ("Nope. Not what I wanted.", ["negative_feedback"]),
        ("you're not helping", ["negative_feedback"]), ("This is garbage honestly", ["negative_feedback"]),
        ("I'm really not happy with this", ["negative_feedback"]), ("that's nonsense", ["negative_feedback"]),
        ("Ugh, no. Disappointing.", ["negative_feedback"]), ("This makes no sense whatsoever", ["negative_feedback"]),
    ],
    "revision": [
        ("Make it shorter please", ["revision"]), ("Can you rewrite {thing} as a bulleted list?", ["revision"]),
        ("Redo it, but for a beginner", ["revision"]), ("shorter. much shorter.", ["revision"]),
        ("Try again with a different approach", ["revision"]), ("can you change the second part", ["revision"]),
        ("Rewrite it in simpler words", ["revision"]), ("Please give me another version", ["revision"]),
        ("Cut it down to 3 sentences", ["revision"]), ("Put {thing} in a table instead", ["revision"]),
        ("make it longer, add an example", ["revision"]), ("Again, but in French", ["revision"]),
    ],
    "factual_error": [
        ("That's factually incorrect, it was the other way around", ["factual_error"]),
        ("Your numbers are off, please check again", ["factual_error"]),
        ("That date is wrong", ["factual_error"]), ("No, that's not true. Look it up.", ["factual_error"]),
        ("Wrong price, it's more than that", ["factual_error"]),
        ("you mixed up the two names", ["factual_error"]),
        ("The math doesn't add up, the total is wrong", ["factual_error"]),
        ("that information is outdated, it changed last year", ["factual_error"]),
        ("Pretty sure that's incorrect, the law changed", ["factual_error"]),
        ("the address you gave doesn't exist", ["factual_error"]),
    ],
    "unrealistic_expectation": [
        ("Why can't you just do it for me?", ["unrealistic_expectation"]),
        ("Just call them for me then", ["unrealistic_expectation"]),
        ("Can you check the live prices on the website right now?", ["unrealistic_expectation"]),
        ("What do you mean you can't remember our chat from last week?", ["unrealistic_expectation"]),
        ("Send it to my boss directly", ["unrealistic_expectation"]),
        ("You should be able to see my screen, just fix it", ["unrealistic_expectation"]),
        ("Guarantee me that it will work", ["unrealistic_expectation"]),
        ("just log into my account and sort it out", ["unrealistic_expectation"]),
        ("Why can't you tell me what will happen tomorrow? Useless AI", ["unrealistic_expectation", "negative_feedback"]),
        ("Pay for it with my card, I gave it to you yesterday", ["unrealistic_expectation"]),
    ],
    "no_engagement": [
        ("whatever", ["no_engagement"]), ("k", ["no_engagement"]), ("nvm", ["no_engagement"]),
        ("forget it", ["no_engagement"]), ("meh", ["no_engagement"]), ("never mind, not important", ["no_engagement"]),
        ("eh, doesn't matter", ["no_engagement"]), ("I'll figure it out myself", ["no_engagement"]),
        ("fine. bye", ["no_engagement"]), ("skip it", ["no_engagement"]), ("idc anymore", ["no_engagement"]),
    ],
    "ignored": [
        ("You didn't answer my question", ["ignored"]), ("That's not what I asked", ["ignored"]),
        ("Read my message again please", ["ignored"]), ("You ignored what I said about the budget", ["ignored"]),
        ("I literally told you that already", ["ignored"]), ("Again: please follow my instructions", ["ignored"]),
        ("you skipped the part I cared about", ["ignored"]), ("I said the opposite of that", ["ignored"]),
        ("Why did you leave out what I asked for?", ["ignored"]), ("did you even read what I wrote?", ["ignored"]),
    ],
    "lower_quality": [
        ("This is worse than your first try", ["lower_quality"]), ("The previous version was better", ["lower_quality"]),
        ("I expected much more from you", ["lower_quality"]), ("you used to give better answers than this", ["lower_quality"]),
        ("That's a step backwards", ["lower_quality"]), ("Hmm, lower quality than usual", ["lower_quality"]),
        ("The other assistant did this way better", ["lower_quality"]), ("this version lost everything good about the last one", ["lower_quality"]),
        ("Not up to your usual standard", ["lower_quality"]), ("go back to the earlier one, this is worse", ["lower_quality", "revision"]),
    ],
    "insufficient_detail": [
        ("Can you go into more detail?", ["insufficient_detail"]), ("That's too vague", ["insufficient_detail"]),
        ("a bit more depth please, this is very surface level", ["insufficient_detail"]),
        ("Can you elaborate? I need specifics", ["insufficient_detail"]), ("too short, explain properly", ["insufficient_detail"]),
        ("This barely scratches the surface", ["insufficient_detail"]), ("I need step by step, not a summary", ["insufficient_detail"]),
        ("can you expand on each point", ["insufficient_detail"]), ("Give me concrete examples, this is too abstract", ["insufficient_detail"]),
        ("There's not enough information here to act on", ["insufficient_detail"]),
    ],
    "style": [
        ("Less formal please", ["style"]), ("Stop using so many bullet points", ["style"]),
        ("too many emojis, tone it down", ["style"]), ("Why are you so chirpy? Be neutral", ["style"]),
        ("Drop the corporate speak", ["style"]), ("don't start every answer with 'Great question'", ["style"]),
        ("The formatting is a mess, no headers please", ["style"]), ("It sounds condescending", ["style"]),
        ("Can you write it in plain prose, not markdown", ["style"]), ("The tone is way too salesy", ["style"]),
        ("stop being so apologetic", ["style"]),
    ],
}

# Hard negatives that fit any conversation: no feedback on the previous reply, though cue words appear.
NEGATIVE_POOLS: dict[str, list[tuple[str, list[str]]]] = {
    "neg:new_topic": [
        ("Different topic: what's a good name for a golden retriever?", []),
        ("Unrelated, but how many ounces are in a cup?", []), ("Can you help me plan a birthday party?", []),
        ("What's the weather usually like in Oslo in April?", []), ("How do I boil an egg properly?", []),
        ("New question. What does APR mean on a credit card?", []), ("Tell me a fun fact about octopuses", []),
        ("What's the difference between a virus and bacteria?", []), ("ok another thing: how do I unclog a sink", []),
        ("Who wrote One Hundred Years of Solitude?", []), ("Switching topics, any tips for sleeping better?", []),
        ("No wait, before I forget: how do I change my display name?", []),
    ],
    "neg:followup": [
        ("Could you also tell me how long {thing} would take?", []), ("And what would be the next step after that?", []),
        ("Would this be different in winter?", []), ("What would you do in my place?", []),
        ("Is there a cheaper alternative?", []), ("Could you say a bit about the risks too?", []),
        ("How does that compare to last year?", []), ("If I had more time, what would you add?", []),
        ("Follow-up: does the same apply on weekends?", []), ("Interesting. What about for two people?", []),
    ],
    "neg:clarify": [
        ("What do you mean by that last sentence?", []), ("Sorry, which one are you referring to?", []),
        ("When you say 'standard', what does that include?", []), ("Is that per person or in total?", []),
        ("Does that apply to me if I'm not a resident?", []), ("Just to check, is that in euros?", []),
        ("What's the abbreviation at the end?", []), ("Do you mean the first option or the second?", []),
        ("Can I ask what the source for that is?", []), ("How did you get to that number?", []),
    ],
    "neg:typo": [
        ("*their, sorry, typo in my message", []), ("oops I wrote 2025, I meant 2026", []),
        ("sorry, typo above: I meant Tuesday", []), ("my bad, that should say 'from' not 'form'", []),
        ("Correction to what I wrote: it's 3 kids, not 2", []), ("autocorrect got me, I meant 'duck' lol", []),
        ("ignore my typo, I meant the blue one", []), ("sorry I misspelled the name, it's Katharina with a K", []),
        ("I wrote the wrong number earlier, it's 40 not 14, my mistake", []),
    ],
    "neg:thanks_new": [
        ("Thanks! And now, can you help me write a packing list?", ["gratitude"]),
        ("thank you. next: what's the best way to learn Spanish?", ["gratitude"]),
        ("Thanks, and now a totally different thing: how do I fix a squeaky door?", ["gratitude"]),
        ("ty. also, can you recommend a podcast about history?", ["gratitude"]),
        ("Thank you! Now I need a birthday message for my aunt", ["gratitude"]),
        ("thanks, one more: convert 30 miles to km", ["gratitude"]),
        ("Cheers. Now something else: how long do I cook rice?", ["gratitude"]),
        ("thanks!! next question, what's a good stretch for lower back pain", ["gratitude"]),
    ],
    "neg:negation": [
        ("No worries if not, but could you also list the opening hours?", []),
        ("I don't need it today, but how would I do the same next month?", []),
        ("Not a problem. What else do I need to bring?", []),
        ("It doesn't have to be perfect, just tell me roughly how long it takes", []),
        ("I'm not sure yet, let me think about it and come back", []),
        ("no rush, but what would the total cost be?", []),
        ("I never tried this before, is it hard?", []),
        ("Wrong button, sorry, I meant to send this: how do I export it as PDF?", []),
    ],
}

# Mixed turns: both flags. (text, categories)
MIXED = [
    ("Thanks, but can you make it shorter?", ["gratitude", "revision"]),
    ("I like it, but the tone is too formal", ["praise", "style"]),
    ("Great effort, but the second date is wrong", ["praise", "factual_error"]),
    ("thanks, although you didn't include what I asked about", ["gratitude", "ignored"]),
    ("Nice, but it needs more detail on the costs", ["praise", "insufficient_detail"]),
    ("ok thank you, but honestly the first version was better", ["gratitude", "lower_quality"]),
    ("appreciate it but this is too long, trim it", ["gratitude", "revision"]),
    ("lol good try but that's not correct", ["humor", "factual_error"]),
    ("ha, cute, but can you redo it without the rhymes", ["humor", "revision"]),
    ("thanks, but why so many emojis", ["gratitude", "style"]),
    ("that helps, but the middle part is too vague", ["getting_there", "insufficient_detail"]),
    ("I learned something, but the numbers look off to me", ["learning", "factual_error"]),
]

SAT_CATS = {"gratitude", "learning", "compliance", "praise", "personal_details", "humor", "acknowledgment",
            "positive_closure", "getting_there"}


def vary(text: str, rng: random.Random) -> str:
    """Type it the way people do: sometimes lowercase, no final punctuation, a filler word in front."""
    if rng.random() < 0.3:
        text = text[0].lower() + text[1:]
    if rng.random() < 0.25 and text[-1] in ".!":
        text = text[:-1]
    if rng.random() < 0.12:
        text = rng.choice(["hmm ", "ok so ", "well, ", "right. ", "uh "]) + text
    return text


def split_of(key: str) -> str:
    """A stable group split: the same conversation or phrasing is always on the same side."""
    if key in TEST_CONVERSATIONS:
        return "test"
    return "test" if random.Random(f"{SEED}:{key}").random() < TEST_SHARE and ":" in key else "train"


def context(conv: dict, rng: random.Random) -> list[dict]:
    """The prior messages: the whole history, its last exchange, or a greeting exchange before it (2 to 6)."""
    pairs = list(conv["history"])
    if len(pairs) > 1 and rng.random() < 0.3:
        pairs = pairs[-1:]
    if len(pairs) < 3 and rng.random() < 0.35:
        pairs = [rng.choice(GREETINGS)] + pairs
    return [m for u, a in pairs for m in ({"role": "user", "content": u}, {"role": "assistant", "content": a})]


def label(categories: list[str]) -> tuple[bool, bool]:
    return any(c in SAT_CATS for c in categories), any(c not in SAT_CATS for c in categories)


def record(conv: dict, messages: list[dict], text: str, categories: list[str], kind: str, line: str) -> dict:
    """One labelled turn; `line` names the hand-written line it came from, to group by it when tuning."""
    sat, dsat = label(categories)
    split = split_of(conv["id"])
    return {
        "conversation": conv["id"], "domain": conv["domain"], "kind": kind, "line": line, "split": split,
        "messages": messages + [{"role": "user", "content": text}],
        "sat": sat, "dsat": dsat, "categories": sorted(set(categories)),
    }


def build() -> list[dict]:
    """Every specific line once per conversation, plus pool lines drawn into conversations of the same split."""
    rng = random.Random(SEED)
    rows: list[dict] = []
    convs = {side: [c for c in CONVERSATIONS if split_of(c["id"]) == side] for side in ("train", "test")}
    for conv in CONVERSATIONS:
        for index, (kind, text, categories) in enumerate(conv["lines"]):
            rows.append(record(conv, context(conv, rng), vary(text, rng), categories, kind, f"{conv['id']}:{index}"))
        # Repeated request: the user sends their first request again, the reply having missed it.
        first = conv["history"][0][0]
        again = rng.choice(["{q}", "I'll ask again. {q}", "{q} (again)", "Once more: {q}"]).format(q=first)
        rows.append(record(conv, context(conv, rng), again, ["ignored"], "repeat", f"{conv['id']}:repeat"))

    pools = {**POOLS, **NEGATIVE_POOLS, "mixed": MIXED}
    draws = {name: 3 for name in POOLS} | {name: 4 for name in NEGATIVE_POOLS} | {"mixed": 2}
    for name, entries in pools.items():
        for index, (text, categories) in enumerate(entries):
            side = split_of(f"{name}:{index}")
            for conv in rng.sample(convs[side], draws[name]):
                filled = vary(text.format(thing=conv["thing"]), rng)
                rows.append(record(conv, context(conv, rng), filled, categories, name, f"{name}:{index}"))
    return rows

# --- added after the first held-out evaluation: train only, drawn with their own seed after everything above, so
# the held-out rows stay exactly as they were. They target the categories stage 1 recalled worst in training folds.

EXTRA_CONVERSATIONS = [
    {
        "id": "concert-tickets", "domain": "booking", "thing": "the seats",
        "history": [
            ("Two tickets for the Coldplay concert in Vienna on 14 July, seated, not standing.",
             "I found two seats in block C, row 22, for 95 EUR each. Should I hold them for you?"),
        ],
        "lines": [
            ("unrealistic_expectation", "Can you get me front row for the same price? You must have some contacts", ["unrealistic_expectation"]),
            ("revision", "Look again but only in the lower tier please", ["revision"]),
            ("neg:answer", "Yes, hold them until tonight", []),
            ("neg:clarify", "Is block C on the side or facing the stage?", []),
            ("praise", "Wow, row 22 at that price is a great find", ["praise"]),
            ("lower_quality", "Last time you found me much better seats than these", ["lower_quality"]),
        ],
    },
    {
        "id": "insurance-claim", "domain": "support", "thing": "the claim steps",
        "history": [
            ("My phone screen broke, how do I claim on my insurance?",
             "Open the app, go to Claims, choose 'Accidental damage', upload a photo of the screen and your receipt."),
        ],
        "lines": [
            ("compliance", "Uploading the photo now", ["compliance"]),
            ("unrealistic_expectation", "Can't you just approve the claim yourself right now?", ["unrealistic_expectation"]),
            ("insufficient_detail", "Which receipt, the phone's or the repair's? Be precise", ["insufficient_detail"]),
            ("no_engagement", "fine whatever", ["no_engagement"]),
            ("neg:typo", "sorry, I meant my tablet, not my phone", []),
        ],
    },
    {
        "id": "bank-card", "domain": "support", "thing": "the answer",
        "history": [
            ("I lost my debit card.",
             "I'm sorry to hear that. I've blocked the card ending in 4471. A new one will arrive in 5-7 days."),
        ],
        "lines": [
            ("gratitude", "thank you, that was quick", ["gratitude"]),
            ("unrealistic_expectation", "5-7 days? Send it today by courier, you can surely arrange that", ["unrealistic_expectation"]),
            ("factual_error", "My card ends in 4417, you blocked the wrong one!", ["factual_error"]),
            ("neg:followup", "Can I still pay with my phone meanwhile?", []),
            ("positive_closure", "Great, all sorted then. Have a good day", ["positive_closure"]),
        ],
    },
    {
        "id": "essay-outline", "domain": "writing", "thing": "the outline",
        "history": [
            ("Outline an essay on whether social media harms teenagers.",
             "I. Introduction II. Evidence of harm III. Evidence of benefits IV. Conclusion"),
        ],
        "lines": [
            ("insufficient_detail", "That's just four headings. I need sub-points under each", ["insufficient_detail"]),
            ("revision", "Turn it into five paragraphs with a counterargument section", ["revision"]),
            ("lower_quality", "Honestly a worse outline than the one my classmate got from you", ["lower_quality"]),
            ("compliance", "ok I'll write the intro following that structure", ["compliance"]),
            ("learning", "Oh, putting the benefits section before the conclusion makes it more balanced, I see", ["learning"]),
        ],
    },
    {
        "id": "excel-formula", "domain": "coding", "thing": "the formula",
        "history": [
            ("Excel formula to sum column B where column A says 'paid'?",
             "Use =SUMIF(A:A, \"paid\", B:B)."),
        ],
        "lines": [
            ("praise", "Short and it works. You're a lifesaver", ["praise"]),
            ("compliance", "typing it in now", ["compliance"]),
            ("getting_there", "Works for 'paid', now how do I also include 'Paid' with a capital?", ["getting_there"]),
            ("neg:new_topic", "Totally different question: what's a pivot table for?", []),
            ("humor", "Excel and I are finally friends haha", ["humor"]),
        ],
    },
    {
        "id": "birthday-speech", "domain": "creative", "thing": "the speech",
        "history": [
            ("Write a funny 1-minute speech for my best friend's 40th birthday.",
             "Friends, family, and people who came for the cake: we're here to celebrate forty glorious years of Tom..."),
        ],
        "lines": [
            ("humor", "haha the cake line is perfect, he'll love that", ["humor", "praise"]),
            ("revision", "Add a bit about our camping trip disaster in 2009", ["revision"]),
            ("style", "It's too cheesy, make the jokes drier", ["style"]),
            ("personal_details", "We've known each other since kindergarten, so make it personal", ["personal_details"]),
            ("negative_feedback", "Not funny at all, sorry", ["negative_feedback"]),
        ],
    },
]

EXTRA_POOLS: dict[str, list[tuple[str, list[str]]]] = {
    "praise": [
        ("Fantastic work", ["praise"]), ("you explained that really well", ["praise"]),
        ("This is so good, honestly", ["praise"]), ("What a clear answer", ["praise"]),
    ],
    "compliance": [
        ("Ok, following your steps now", ["compliance"]), ("Alright, I'll take the second option then", ["compliance"]),
        ("I'll give it a go tonight", ["compliance"]), ("Booked it, as you suggested", ["compliance"]),
    ],
    "revision": [
        ("Redo it in a friendlier way", ["revision"]), ("Shorten the middle part", ["revision"]),
        ("swap the order of the two sections", ["revision"]), ("Give me a version with numbered steps", ["revision"]),
    ],
    "unrealistic_expectation": [
        ("Just book it and pay, you have my details", ["unrealistic_expectation"]),
        ("Tell me exactly what my doctor will say", ["unrealistic_expectation"]),
        ("Why can't you just phone the restaurant?", ["unrealistic_expectation"]),
        ("Predict the lottery numbers then", ["unrealistic_expectation"]),
    ],
    "lower_quality": [
        ("Worse than what you wrote yesterday", ["lower_quality"]), ("You've done better than this before", ["lower_quality"]),
        ("this one is weaker than the first draft", ["lower_quality"]), ("I preferred your earlier answer", ["lower_quality"]),
    ],
    "no_engagement": [("fine", ["no_engagement"]), ("doesn't matter now", ["no_engagement"]), ("not interested", ["no_engagement"])],
    "neg:followup": [("How long would that take in total?", []), ("What would be a good first step?", [])],
    "neg:clarify": [("Sorry, what does that word mean?", []), ("Which of the two did you mean?", [])],
}


def build_extra() -> list[dict]:
    """The train-only additions, from their own random stream."""
    rng = random.Random(SEED + 1)
    rows = []
    for conv in EXTRA_CONVERSATIONS:
        for index, (kind, text, categories) in enumerate(conv["lines"]):
            rows.append(record(conv, context(conv, rng), vary(text, rng), categories, kind, f"{conv['id']}:{index}"))
    for name, entries in EXTRA_POOLS.items():
        for index, (text, categories) in enumerate(entries):
            for conv in rng.sample(EXTRA_CONVERSATIONS, 3):
                filled = vary(text.format(thing=conv["thing"]), rng)
                rows.append(record(conv, context(conv, rng), filled, categories, name, f"extra-{name}:{index}"))
    return rows


def main() -> None:
    rows = build() + build_extra()
    with OUT.open("w") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} turns -> {OUT}")


if __name__ == "__main__":
    main()
