"""The Anthropic Messages API through the official anthropic SDK (extra: pip install 'csteer[anthropic]')."""

from __future__ import annotations

import os
import time
from typing import Any

from csteer.engines.base import Completion, EngineOptions, Message, Timing, Usage
from csteer.engines.sdk_errors import sdk_errors
from csteer.errors import CsteerError


class AnthropicEngine:
    n_ctx: int | None = None  # a server's context size is not known to the client
    supports_grammar = False
    supports_scoring = False

    def __init__(self, model: str, options: EngineOptions | None = None, kind: str = "instruct") -> None:
        try:
            import anthropic
        except ImportError as err:
            raise CsteerError("anthropic: engine needs the extra: pip install 'csteer[anthropic]'") from err
        options = options or EngineOptions()
        self.model = model
        self.kind = kind
        self.name = f"anthropic:{model}"
        self._anthropic = anthropic
        key = os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise CsteerError("anthropic: engine needs ANTHROPIC_API_KEY in the environment")
        # recent SDKs (2.x) dropped `temperature` from messages.create; older ones accept it
        import inspect

        params = inspect.signature(anthropic.resources.Messages.create).parameters
        self._takes_temperature = "temperature" in params
        self._sampling_params = {name for name in ("top_p", "top_k") if name in params}
        self.client = anthropic.Anthropic(
            api_key=key,
            base_url=os.environ.get("ANTHROPIC_BASE_URL") or None,
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
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [m for m in messages if m["role"] != "system"]
        if self.kind == "base":  # no completion endpoint: send the transcript as one user turn
            turns = [{"role": "user", "content": "\n\n".join(m["content"] for m in turns)}]
        start = time.perf_counter()
        kwargs: dict[str, Any] = {"system": system} if system else {}
        stops = [s for s in (stop or []) if s.strip()]
        if stops:
            kwargs["stop_sequences"] = stops
        if self._takes_temperature:
            kwargs["temperature"] = temperature
        for key, value in (("top_p", top_p), ("top_k", top_k)):
            if value is not None and key in self._sampling_params:
                kwargs[key] = value
        with sdk_errors(self._anthropic, "the Anthropic API", self.model, "ANTHROPIC_API_KEY"):
            resp = self.client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=turns,  # type: ignore[arg-type]  # plain role/content dicts are valid params
                **kwargs,
            )
        text = "".join(block.text for block in resp.content if block.type == "text")
        return Completion(
            text=text,
            usage=Usage(prompt_tokens=resp.usage.input_tokens, completion_tokens=resp.usage.output_tokens),
            timing=Timing(seconds=time.perf_counter() - start),
            finish_reason=resp.stop_reason,
        )

    def close(self) -> None:
        self.client.close()
