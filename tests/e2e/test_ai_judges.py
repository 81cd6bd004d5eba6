"""Issue 18's done-when in Chromium: a manager runs an AI judge on a campaign from its page (a real gpu-queue
worker, the tiny model), then reads the report's human-vs-AI section: agreement, the judge's position bias and the
routing savings; an outside judge's verdicts imported from a file join the same section."""

import json

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from annotate.models import Judgment
from annotate.services.assignments import assignment_next, judgment_submit
from annotate.services.exchange import judgments_export_jsonl
from tests.conftest import PASSWORD
from tests.factories import campaign_with_items

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ITEMS = 6


@pytest.fixture
def judged_by_people(manager, annotator, other_annotator):
    """Two people judge every item alike, so each item has a human majority: a on even items, b on odd ones."""
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator], name="Tea", prompts=ITEMS,
                                   overlap=2)
    for person in (annotator, other_annotator):
        while (assignment := assignment_next(campaign=campaign, annotator=person)) is not None:
            choice = "a" if assignment.item.pk % 2 == 0 else "b"
            judgment_submit(assignment_id=assignment.pk, annotator=person, answer={"choice": choice})
    return campaign


def outside_judge_file(campaign, path):
    """GPT-4's verdicts from elsewhere, in the exchange format: the people's lines of each item, relabelled."""
    lines, seen = [], set()
    for text in judgments_export_jsonl(campaign=campaign):
        line = json.loads(text)
        if line["item"] in seen:
            continue
        seen.add(line["item"])
        first, second = (response["id"] for response in line["responses"])
        lines.append(json.dumps({**line, "annotator": "ai:gpt-4", "choice": "a",
                                 "presented_order": [first, second] if len(seen) % 2 else [second, first]}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_manager_runs_an_ai_judge_and_reads_it_beside_people_and_an_imported_outside_judge(
        page, sign_in, live_server, judged_by_people, tiny_endpoint, tiny_model_dir, start_worker, tmp_path):
    campaign = judged_by_people
    start_worker(env={"MODELHOST_MODEL_DIRS": str(tiny_model_dir.parent)}, queues=("gpu",))
    sign_in("maria", PASSWORD)
    page.goto(f"{live_server.url}/annotate/manage/{campaign.pk}/")
    judges = page.locator("#judges")
    judges.get_by_label("Model endpoint").select_option(label="tiny")
    judges.get_by_label("Checklist per prompt (TICK)").check()
    judges.get_by_role("button", name="Start AI judge run").click()
    expect(page.locator(".flash")).to_contain_text(f"ai:tiny is judging {ITEMS} items")
    run = page.locator("#judges .judge-run").first
    expect(run).to_contain_text(f"{ITEMS} / {ITEMS} items (100%)", timeout=180_000)  # htmx polls the progress
    expect(run.locator(".pill")).to_have_text("Done")
    expect(run).to_contain_text("checklists")

    judges = page.locator("#judges")
    judges.get_by_label("Send to people").select_option("share")
    judges.get_by_label("Threshold (entropy in bits, or share 0-1)").fill("0.5")
    judges.get_by_role("button", name="Save routing").click()
    expect(page.locator("#routing-summary")).to_contain_text("3 items kept from people")

    page.get_by_role("link", name="Accuracy kept, in the report").click()
    section = page.locator("#human-vs-ai")
    expect(section).to_contain_text(f"Against the human majority of {ITEMS} items")
    table = section.locator("#judges-table")
    expect(table).to_contain_text("First shown wins")  # the judge's position bias
    tiny = table.locator("tr", has_text="ai:tiny")
    expect(tiny.locator("td").nth(1)).to_have_text(str(ITEMS))
    expect(tiny.locator("td").nth(2)).to_contain_text(f"n={ITEMS}")  # accuracy against the majority
    expect(tiny.locator("td").nth(5)).to_contain_text("n=")  # position bias
    expect(section).to_contain_text("sends 3 of them to people, saving 50% of the human work")

    call_command("import_judgments", outside_judge_file(campaign, tmp_path / "gpt4.jsonl"), campaign="Tea")
    assert Judgment.objects.filter(annotator__username="ai:gpt-4").count() == ITEMS
    page.reload()
    gpt4 = page.locator("#judges-table tr", has_text="ai:gpt-4")
    expect(gpt4.locator("td").nth(1)).to_have_text(str(ITEMS))
    expect(gpt4.locator("td").nth(2)).to_contain_text("0.500")  # a on every item; people said a on half
    expect(gpt4.locator("td").nth(5)).to_contain_text("0.500")  # chose the first shown on half of them
    expect(gpt4.locator("td").nth(6)).to_have_text("no verdicts in both orders")  # one verdict per item, imported
    expect(page.locator("#human-vs-ai")).to_contain_text("ai:tiny")

    page.goto(f"{live_server.url}/annotate/manage/items/{campaign.items.order_by('pk').first().pk}/")
    expect(page.locator("#checklists")).to_contain_text("ai:tiny")
    expect(page.locator("#judgments")).to_contain_text("checklist met: A")
