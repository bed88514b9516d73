"""Any OpenAI-compatible server through the official openai SDK: OpenAI, vLLM, Ollama, LM Studio, llama.cpp.

Base models behind such a server (kind "base") are sent to /v1/completions with the few-shot transcript;
instruct models to /v1/chat/completions. The SDK does bounded retries with exponential backoff on
connection errors, 408/409/429 and 5xx; we turn what is left into one-line errors.
"""

from __future__ import annotations

import os
import time
from typing import Any

from csteer.engines.base import Completion, EngineOptions, Message, Timing, Usage
from csteer.engines.sdk_errors import sdk_errors

DEFAULT_KEY = "none"  # local servers accept any key; the SDK refuses an empty one


class OpenAIEngine:
    n_ctx: int | None = None  # a server's context size is not known to the client
    supports_grammar = False
    supports_scoring = False

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        options: EngineOptions | None = None,
        kind: str = "instruct",
    ) -> None:
        import openai

        options = options or EngineOptions()
        self.model = model
        self.kind = kind
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.name = f"openai:{model}" + (f"@{self.base_url}" if self.base_url else "")
        self._openai = openai
        self.client = openai.OpenAI(
            api_key=os.environ.get("OPENAI_API_KEY") or DEFAULT_KEY,
            base_url=self.base_url,
            timeout=options.timeout_s,
            max_retries=options.max_retries,
        )

    def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        grammar: str | None = None,
        seed: int | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> Completion:
        # grammar: OpenAI-compatible servers disagree on how to pass one; remote coaches are parsed strictly
        start = time.perf_counter()
        sampling = self._sampling(top_p, top_k)
        with sdk_errors(self._openai, self._where(), self.model, "OPENAI_API_KEY"):
            if self.kind == "base":
                prompt = "\n\n".join(m["content"] for m in messages)
                completion = self.client.completions.create(
                    model=self.model,
                    prompt=prompt,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=(stop or [])[:4] or None,  # the API allows at most 4 stop strings
                    seed=seed,
                    **sampling,
                )
                text = completion.choices[0].text or ""
                finish: str | None = completion.choices[0].finish_reason
                usage = completion.usage
            else:
                chat = self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=(stop or [])[:4] or None,
                    seed=seed,
                    **sampling,
                )
                text = chat.choices[0].message.content or ""
                finish = chat.choices[0].finish_reason
                usage = chat.usage
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            ),
            timing=Timing(seconds=time.perf_counter() - start),
            finish_reason=finish,
        )

    def _sampling(self, top_p: float | None, top_k: int | None) -> dict[str, Any]:
        """top_p when given; top_k (not an OpenAI parameter) in the body for the servers that read it
        (vLLM, llama.cpp's server, LM Studio, Ollama's OpenAI layer). api.openai.com rejects unknown
        fields, so it never gets one."""
        extra: dict[str, Any] = {}
        if top_p is not None:
            extra["top_p"] = top_p
        if top_k is not None and self.base_url and "api.openai.com" not in self.base_url:
            extra["extra_body"] = {"top_k": top_k}
        return extra

    def _where(self) -> str:
        return f"OpenAI-compatible server {self.base_url or 'api.openai.com'}"

    def close(self) -> None:
        self.client.close()
