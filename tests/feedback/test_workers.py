"""Whole replies from a gpu worker (MODELHOST_STREAM_VIA=worker), and what the caller sees when none answers."""

import openai
import pytest

from feedback.models import Message
from modelhost.models import GenerationJob


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_gpu_worker_writes_the_reply_and_leaves_no_job_behind(live_server, annotator, api_key, tiny_endpoint,
                                                                 settings, start_worker):
    settings.MODELHOST_STREAM_VIA = "worker"
    start_worker(queues=("gpu",), env={"MODELHOST_MODEL_DIRS": settings.MODELHOST_MODEL_DIRS[0]})
    client = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=api_key(annotator), max_retries=0)
    completion = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}], n=2)
    assert len(completion.choices) == 2 and completion.usage.completion_tokens >= 2
    assert Message.objects.filter(role="assistant").count() == 2
    assert not GenerationJob.objects.exists()  # the raw prompt is not kept outside the conversation


def test_no_worker_in_time_is_a_504_and_the_question_is_kept(api_as, annotator, tiny_endpoint, settings):
    settings.MODELHOST_STREAM_VIA = "worker"
    settings.FEEDBACK_REPLY_TIMEOUT_SECONDS = 1
    response = api_as(annotator).post("/v1/chat/completions", {
        "model": "tiny", "messages": [{"role": "user", "content": "Hi"}]}, format="json")
    assert response.status_code == 504 and "No gpu worker finished the reply" in response.json()["error"]["message"]
    assert list(Message.objects.values_list("role", flat=True)) == ["user"]
    assert not GenerationJob.objects.exists()
