import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from annotate.models import Candidate, Item, Prompt
from annotate.services import imports
from annotate.services.imports import prompts_import


def jsonl(*records, ensure_ascii: bool = False) -> str:
    return "".join(json.dumps(record, ensure_ascii=ensure_ascii) + "\n" for record in records)


def upload(content: str) -> io.BytesIO:
    """The file a manager uploads: UTF-8 bytes, read by the service line by line."""
    return io.BytesIO(content.encode())


CAPITALS = jsonl(
    {"id": "capital", "prompt": "What is the capital of France?", "metadata": {"topic": "geography"},
     "responses": [{"id": "capital-a", "text": "Paris.", "model": "smol"}, {"id": "capital-b", "text": "Lyon."}]},
    {"id": "chat", "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi ☀"}]},
)


def test_maria_imports_prompts_and_their_responses_from_jsonl(campaign):
    assert prompts_import(campaign=campaign, file=upload(CAPITALS), filename="prompts.jsonl") == 2

    capital = Prompt.objects.get(campaign=campaign, external_id="capital")
    assert capital.messages == [{"role": "user", "content": "What is the capital of France?"}]
    assert capital.metadata == {"topic": "geography"}
    assert list(capital.candidates.values_list("external_id", "text", "model")) == [
        ("capital-a", "Paris.", "smol"), ("capital-b", "Lyon.", "")]
    chat = Prompt.objects.get(campaign=campaign, external_id="chat")
    assert chat.messages[1] == {"role": "user", "content": "Hi ☀"} and not chat.candidates.exists()


def test_importing_the_same_file_again_adds_nothing_but_new_responses_are_added(campaign):
    prompts_import(campaign=campaign, file=upload(CAPITALS), filename="prompts.jsonl")
    assert prompts_import(campaign=campaign, file=upload(CAPITALS), filename="prompts.jsonl") == 0
    assert Prompt.objects.count() == 2 and Candidate.objects.count() == 2

    more = jsonl({"id": "capital", "prompt": "What is the capital of France?",
                  "responses": [{"id": "capital-c", "text": "Paris, since the 10th century."}]})
    assert prompts_import(campaign=campaign, file=upload(more), filename="more.jsonl") == 0
    assert list(Prompt.objects.get(external_id="capital").candidates.values_list("external_id", flat=True)) == [
        "capital-a", "capital-b", "capital-c"]


def test_a_csv_has_id_prompt_and_numbered_response_and_model_columns_and_the_rest_is_metadata(campaign):
    content = (
        "id,prompt,response_1,model_1,response_2,model_2,topic\n"
        'email,"Write an email\nto my landlord.",Dear Ms Martin,smol,Fix it.,big,letters\n'
        "short,Say hi.,Hi!,smol,,,greetings\n"
    )
    assert prompts_import(campaign=campaign, file=upload(content), filename="prompts.CSV") == 2

    email = Prompt.objects.get(external_id="email")
    assert email.messages == [{"role": "user", "content": "Write an email\nto my landlord."}]
    assert email.metadata == {"topic": "letters"}
    assert list(email.candidates.values_list("external_id", "text", "model")) == [
        ("email-r1", "Dear Ms Martin", "smol"), ("email-r2", "Fix it.", "big")]
    assert list(Prompt.objects.get(external_id="short").candidates.values_list("external_id", flat=True)) == [
        "short-r1"]


def test_every_bad_line_is_reported_with_its_number_and_nothing_is_written(campaign):
    content = "\n".join([
        json.dumps({"id": "good", "prompt": "Fine."}),
        '{"id": "broken", "prompt": ',
        json.dumps({"id": "blank", "prompt": "   "}),
        json.dumps({"id": "good", "prompt": "Again."}),
        json.dumps({"id": "nameless", "prompt": "Hi", "responses": [{"id": "r1"}]}),
        json.dumps({"id": "typo", "promt": "Hi"}),
        json.dumps({"id": "role", "prompt": [{"role": "robot", "content": "Hi"}]}),
    ])
    with pytest.raises(ValidationError) as error:
        prompts_import(campaign=campaign, file=upload(content), filename="prompts.jsonl")

    assert [message.split(":")[0] for message in error.value.messages] == [
        "line 2", "line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "line 3: prompt is empty" in error.value.messages
    assert "already appears on line 1" in error.value.messages[2]
    assert "responses[0].text is missing" in error.value.messages[3]
    assert "unknown key(s) promt" in error.value.messages[4]
    assert not Prompt.objects.exists()


def test_a_csv_row_is_reported_by_the_line_it_starts_on(campaign):
    content = 'id,prompt\nlong,"two\nlines"\n,No id\n'
    with pytest.raises(ValidationError) as error:
        prompts_import(campaign=campaign, file=upload(content), filename="prompts.csv")
    assert error.value.messages == ["line 4: id is empty"]


def test_an_existing_prompt_or_response_is_never_overwritten_by_a_different_text(campaign):
    prompts_import(campaign=campaign, file=upload(CAPITALS), filename="prompts.jsonl")
    changed = jsonl(
        {"id": "capital", "prompt": "What is the capital of Italy?"},
        {"id": "chat", "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi ☀"}],
         "responses": [{"id": "capital-a", "text": "Paris."}]},
    )
    with pytest.raises(ValidationError) as error:
        prompts_import(campaign=campaign, file=upload(changed), filename="changed.jsonl")

    assert error.value.messages == [
        "line 1: prompt 'capital' already exists in this campaign with a different text",
        "line 2: response id 'capital-a' is already used by prompt 'capital'; response ids are unique in a campaign",
    ]
    assert Prompt.objects.get(external_id="capital").messages[0]["content"] == "What is the capital of France?"


def test_only_jsonl_and_csv_files_are_taken(campaign):
    with pytest.raises(ValidationError, match="use a .jsonl or .csv file"):
        prompts_import(campaign=campaign, file=upload(CAPITALS), filename="prompts.xlsx")


def test_the_command_imports_a_file_and_builds_items(campaign, tmp_path, capsys):
    path = tmp_path / "prompts.jsonl"
    path.write_text("\ufeff" + CAPITALS, encoding="utf-8")

    call_command("import_prompts", str(path), "--campaign", "Helpfulness", "--build-items")

    assert "2 new prompts" in capsys.readouterr().out
    assert list(Item.objects.values_list("external_id", flat=True)) == ["capital:capital-a+capital-b"]


def test_the_command_lists_the_errors_of_a_bad_file(campaign, tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text(jsonl({"id": "x", "prompt": ""}), encoding="utf-8")

    with pytest.raises(CommandError, match="line 1: prompt is empty"):
        call_command("import_prompts", str(path), "--campaign", "Helpfulness")
    with pytest.raises(CommandError, match="No campaign named 'Nope'"):
        call_command("import_prompts", str(path), "--campaign", "Nope")


@pytest.mark.parametrize("bad, says", [  # a file can only hold a lone surrogate as an escape: UTF-8 has none
    (jsonl({"id": "p\ud800", "prompt": "Hi"}, ensure_ascii=True), "lone surrogate"),
    (jsonl({"id": "p1", "prompt": "Hi", "responses": [{"id": "r\ud800", "text": "Hello"}]}, ensure_ascii=True),
     "lone surrogate"),
    (jsonl({"id": "p1", "prompt": "Hi", "responses": [{"id": "r1", "text": "Hel\ud800lo"}]}, ensure_ascii=True),
     "lone surrogate"),
    (jsonl({"id": "p1", "prompt": "Hi", "metadata": {"note": "\udfff"}}, ensure_ascii=True),
     "metadata.note contains a lone surrogate"),
    (jsonl({"id": "p1", "prompt": "Hi", "metadata": {"k\u0000": 1}}), "NUL"),
    ('{"id": "p1", "prompt": "Hi", "metadata": {"score": NaN}}\n', "NaN is not a JSON number"),
    (jsonl({"id": "p1", "prompt": "Hi", "metadata": {"n": 2**70}}), "beyond 64 bits"),
    ('{"id": "p1", "prompt": "Hi", "metadata": ' + "[" * 5000 + "]" * 5000 + "}\n", "nests deeper"),
])
def test_text_no_page_or_export_could_hold_is_a_line_error(campaign, bad, says):
    good = jsonl({"id": "fine", "prompt": "Hello?"})
    with pytest.raises(ValidationError) as error:
        prompts_import(campaign=campaign, file=upload(good + bad), filename="prompts.jsonl")
    assert error.value.messages[0].startswith("line 2: ") and says in error.value.messages[0]
    assert not Prompt.objects.exists()


def test_a_csv_cell_over_the_field_limit_is_a_line_error(campaign):
    content = "id,prompt\np1,Hello?\np2," + "x" * 131_073 + "\n"
    with pytest.raises(ValidationError) as error:
        prompts_import(campaign=campaign, file=upload(content), filename="prompts.csv")
    assert error.value.messages == ["line 3: cannot be read as CSV (field larger than field limit (131072)); "
                                    "the file is read no further"]


def test_a_csv_metadata_cell_with_a_nul_is_a_line_error(campaign):
    with pytest.raises(ValidationError, match="line 2: metadata.topic contains a NUL"):
        prompts_import(campaign=campaign, file=upload("id,prompt,topic\np1,Hello?,geo\x00graphy\n"), filename="p.csv")


def test_a_line_that_is_not_utf8_is_a_line_error(campaign):
    content = jsonl({"id": "fine", "prompt": "Hello?"}).encode() + b'{"id": "p2", "prompt": "caf\xe9?"}\n'
    with pytest.raises(ValidationError) as error:
        prompts_import(campaign=campaign, file=io.BytesIO(content), filename="prompts.jsonl")
    assert error.value.messages == ["line 2: is not UTF-8 text (byte 28 of the line)"]


def test_a_bad_line_after_chunks_were_written_leaves_nothing_written(campaign, monkeypatch):
    monkeypatch.setattr(imports, "PROMPTS_PER_CHUNK", 2)
    content = jsonl(*({"id": f"p{n}", "prompt": "Hello?", "responses": [{"id": f"p{n}-a", "text": "Hi."}]}
                      for n in range(5)), {"id": "p9", "prompt": ""})
    with pytest.raises(ValidationError, match="line 6: prompt is empty"):
        prompts_import(campaign=campaign, file=upload(content), filename="prompts.jsonl")
    assert not Prompt.objects.exists() and not Candidate.objects.exists()

    assert prompts_import(campaign=campaign, file=upload(content.rsplit("{", 1)[0]), filename="prompts.jsonl") == 5
    assert Candidate.objects.filter(prompt__campaign=campaign).count() == 5
