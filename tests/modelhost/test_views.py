from modelhost.models import StreamedReply
from modelhost.services.jobs import generation_job_create, generation_job_run


def make_job(endpoint, user):
    return generation_job_create(label="view job", conversations=[("a", "Hi"), ("b", "Yo")], endpoints=[endpoint],
                                 n=2, created_by=user)


def test_a_manager_watches_a_job_progress_bar_that_polls_until_done(client, manager, tiny_endpoint):
    job = make_job(tiny_endpoint, manager)
    client.force_login(manager)
    page = client.get(f"/models/jobs/{job.pk}/").content.decode()
    assert "0 / 4 outputs" in page and 'hx-trigger="every 1s"' in page

    generation_job_run(job_id=job.pk)
    fragment = client.get(f"/models/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "4 / 4 outputs (100%)" in fragment
    assert "hx-trigger" not in fragment and "<html" not in fragment  # done: the polling stops


def test_the_job_list_shows_only_my_jobs(client, manager, tiny_endpoint):
    from tests.factories import UserFactory

    generation_job_create(label="mallory job", conversations=[("a", "Hi")], endpoints=[tiny_endpoint],
                          created_by=UserFactory(username="mallory", role="manager"))
    mine = make_job(tiny_endpoint, manager)
    client.force_login(manager)
    response = client.get("/models/jobs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/models/jobs/{mine.pk}/" in page and "view job" in page
    assert "mallory job" not in page


def test_annotators_have_no_access_to_jobs_or_the_playground(client, annotator, manager, tiny_endpoint):
    job = make_job(tiny_endpoint, manager)
    client.force_login(annotator)
    assert client.get("/models/jobs/").status_code == 403
    assert client.get(f"/models/jobs/{job.pk}/").status_code == 403
    assert client.get("/models/playground/").status_code == 403


def test_the_playground_streams_a_reply_as_server_sent_events(client, manager, tiny_endpoint, settings):
    settings.MODELHOST_STREAM_VIA = "inprocess"  # the embedded default: the web process runs the model
    client.force_login(manager)
    fragment = client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "Tell me <b>x</b>"})
    reply = StreamedReply.objects.get()
    assert f"/models/replies/{reply.pk}/stream/" in fragment.content.decode()

    response = client.get(f"/models/replies/{reply.pk}/stream/")
    assert response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    reply.refresh_from_db()
    ending = f"Cut at the token limit ({reply.completion_tokens} tokens): raise Max tokens for a longer reply." if (
        reply.finish_reason == "length") else ""
    assert body.count("event: token") >= 1 and body.endswith(f"event: done\ndata: {ending}\n\n")
    assert reply.status == "done" and reply.text


def test_a_reply_no_worker_picks_up_ends_with_a_clear_error(client, manager, tiny_endpoint, settings):
    settings.MODELHOST_STREAM_VIA = "worker"
    settings.MODELHOST_REPLY_PICKUP_SECONDS = 0  # no worker runs in this test
    client.force_login(manager)
    client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "hi"})
    body = b"".join(client.get(f"/models/replies/{StreamedReply.objects.get().pk}/stream/").streaming_content)
    assert "event: error\ndata: No gpu worker started this reply" in body.decode()
    # Given up for good: a worker that starts later skips it rather than run it before a retry.
    assert StreamedReply.objects.get().status == StreamedReply.Status.FAILED


def test_someone_elses_reply_stream_is_not_found(client, manager, outsider, tiny_endpoint):
    client.force_login(manager)
    client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "hi"})
    client.force_login(outsider)
    assert client.get(f"/models/replies/{StreamedReply.objects.get().pk}/stream/").status_code == 404


def test_an_empty_prompt_gets_a_clear_error(client, manager, tiny_endpoint):
    client.force_login(manager)
    response = client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": ""})
    assert "prompt is empty" in response.content.decode()
    assert not StreamedReply.objects.exists()


def test_a_follow_up_turn_reads_the_whole_conversation_with_the_sampling_values_given(client, manager, tiny_endpoint,
                                                                                       settings):
    settings.MODELHOST_STREAM_VIA = "inprocess"
    client.force_login(manager)
    first = client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "Hello"}).content.decode()
    reply = StreamedReply.objects.get()
    assert f'name="parent" id="id_parent" value="{reply.pk}" hx-swap-oob="true"' in first
    b"".join(client.get(f"/models/replies/{reply.pk}/stream/").streaming_content)
    reply.refresh_from_db()

    client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "And then?", "parent": reply.pk,
                                        "temperature": "0", "max_new_tokens": "5", "seed": "7"})
    second = StreamedReply.objects.exclude(pk=reply.pk).get()
    assert second.messages == [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": reply.text},
                               {"role": "user", "content": "And then?"}]
    assert second.params == {"temperature": 0.0, "max_new_tokens": 5, "seed": 7}


def test_a_follow_up_waits_for_the_reply_before_it_and_cannot_borrow_anothers(client, manager, outsider,
                                                                               tiny_endpoint, admin_user):
    client.force_login(manager)
    client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "Hello"})
    reply = StreamedReply.objects.get()  # queued: not streamed yet
    page = client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "More", "parent": reply.pk})
    assert "still being written" in page.content.decode() and StreamedReply.objects.count() == 1
    client.force_login(admin_user)
    borrowed = client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "x", "parent": reply.pk})
    assert borrowed.status_code == 404


def test_sampling_values_out_of_range_are_refused_in_words(client, manager, tiny_endpoint):
    client.force_login(manager)
    page = client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "Hi", "temperature": "9"})
    assert "less than or equal to 5" in page.content.decode() and not StreamedReply.objects.exists()


def test_a_stopped_reply_ends_its_stream_and_keeps_what_it_wrote(client, manager, tiny_endpoint, settings):
    from modelhost.services.replies import reply_events

    settings.MODELHOST_STREAM_VIA = "inprocess"
    client.force_login(manager)
    client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "Go on", "max_new_tokens": "200"})
    reply = StreamedReply.objects.get()
    events = reply_events(reply=reply)
    first = next(events)
    assert first[0] == "token"
    assert "Stopped." in client.post(f"/models/replies/{reply.pk}/stop/").content.decode()
    rest = list(events)
    assert rest[-1] == ("done", "")
    reply.refresh_from_db()
    written = first[1] + "".join(data for event, data in rest if event == "token")
    assert reply.status == "stopped" and reply.text == written
    assert len(rest) < 150  # it stopped well before its 200 tokens
    assert client.post(f"/models/replies/{reply.pk}/stop/").content == b""  # already ended


def test_nobody_else_stops_my_reply(client, manager, outsider, annotator, tiny_endpoint):
    client.force_login(manager)
    client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "hi"})
    reply = StreamedReply.objects.get()
    client.force_login(annotator)
    assert client.post(f"/models/replies/{reply.pk}/stop/").status_code == 403
    reply.refresh_from_db()
    assert reply.status == "queued"


def test_a_very_long_prompt_goes_to_the_worker_with_a_notice(client, manager, tiny_endpoint, settings):
    settings.MODELHOST_STREAM_VIA = "inprocess"
    client.force_login(manager)
    page = client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "word " * 10_000})
    reply = StreamedReply.objects.get()
    assert reply.in_worker
    assert "A long prompt (about 12,499 tokens): it runs in the gpu worker" in page.content.decode()
    assert "tiny reads at most 256 tokens" in page.content.decode()
    client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "short"})
    assert not StreamedReply.objects.exclude(pk=reply.pk).get().in_worker


def test_a_reply_cut_at_the_token_limit_says_so_when_it_ends(client, manager, tiny_endpoint, settings):
    from modelhost.services.replies import reply_events

    settings.MODELHOST_STREAM_VIA = "inprocess"
    client.force_login(manager)
    client.post("/models/playground/", {"endpoint": tiny_endpoint.pk, "prompt": "Tell me", "max_new_tokens": "3",
                                        "temperature": "0"})
    events = list(reply_events(reply=StreamedReply.objects.get()))
    assert events[-1] == ("done", "Cut at the token limit (3 tokens): raise Max tokens for a longer reply.")
