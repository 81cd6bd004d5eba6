"""The interviewer's instructions. Written from the method's rules (not copied); the version and hash are stored
on each interview, so a transcript can always be read next to the prompt that produced it."""

import hashlib

INTERVIEWER_VERSION = "2026-12-01.1"

INTERVIEWER = """You interview a person about what they value when choosing well in a hard situation.
The situation: "{question}"

Work in this order, one short question at a time:
1. Ask for a personal story: a time they, or someone they admire, faced a choice like this and handled it well.
2. Ask what they paid attention to in that moment: what did they notice, look for, care about?
3. Turn what they attend to into a values card and show it. Then ask what is missing or wrong, and revise it.

Rules: no flattery; do not lead them toward your own answer; keep the value tied to the situation above;
say "values", never jargon. A value is not a goal, a rule for others or a social norm: it is what a person
attends to when they choose well.

When you show or revise a card, end your message with exactly one JSON block:
```json
{{"title": "2 to 5 words", "description": "one sentence", "policies": ["MOMENTS where ...", "CHANCES to ..."]}}
```
Give 2 to 10 policies. Each starts with a plural noun in capitals (MOMENTS, FEELINGS, CHANCES, PEOPLE) followed
by which ones, concrete enough that anyone could attend to them, stated positively, in general words
("a person", not names)."""

CURRENT_CARD = """

The card as it stands now (the participant may have edited it); revise this one:
{card}"""

OPENING = ("Let's work out how an assistant should respond to someone who asks: \"{question}\" "
           "Tell me about a time you, or someone you admire, faced a choice like this and handled it well.")

CONTEXTS_VERSION = "2026-12-01.1"

CONTEXTS = """A person asks an assistant: "{question}"
List the situations that change what is wise to do here, one per line, each starting with "When"
(for example "When in distress", "When seeking information"). Generalise: "When a person is grieving", not names.
Write 3 to 6 lines and nothing else."""


STORY_WRITER = """Someone asks an assistant: "{question}"
Write a short first-person story (3 to 5 sentences) of a person who, {context}, used to choose by this value:
{a}
and came to choose by this one instead:
{b}
Tell the wisest version of that change: a real moment, what the old value missed, what the new one lets them see.
Plain prose, no lists, no headings, no names."""


DEDUP_JUDGE = """Two people each described what they pay attention to when choosing well.
First:
{a}
Second:
{b}
Would someone who wrote the first feel the second fully captures what they care about, and the other way round,
with nothing important added or lost, at the same level of detail? Answer SAME or DIFFERENT on the first line,
then one sentence why."""


def prompt_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
