"""Any OpenAI-compatible server through the official openai SDK: OpenAI, vLLM, Ollama, LM Studio, llama.cpp.

Base models behind such a server (kind "base") are sent to /v1/completions with the few-shot transcript;
instruct models to /v1/chat/completions. The SDK does bounded retries with exponential backoff on
connection errors, 408/409/429 and 5xx; we turn what is left into one-line errors.
"""

from __future__ import annotations

import os
import time

from csteer.errors import CsteerError
from csteer.runtime.engines.base import Completion, Message, Timing, Usage
from csteer.runtime.engines.spec import EngineOptions

DEFAULT_KEY = "none"  # local servers accept any key; the SDK refuses an empty one


class OpenAIEngine:
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
    ) -> Completion:
        # grammar: OpenAI-compatible servers disagree on how to pass one; remote coaches are parsed strictly
        start = time.perf_counter()
        try:
            if self.kind == "base":
                prompt = "\n\n".join(m["content"] for m in messages)
                resp = self.client.completions.create(
                    model=self.model,
                    prompt=prompt,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=(stop or [])[:4] or None,  # the API allows at most 4 stop strings
                    seed=seed,
                )
                text = resp.choices[0].text or ""
                finish = resp.choices[0].finish_reason
            else:
                resp = self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=(stop or [])[:4] or None,
                    seed=seed,
                )
                text = resp.choices[0].message.content or ""
                finish = resp.choices[0].finish_reason
        except self._openai.APIConnectionError as err:
            raise CsteerError(f"cannot reach {self._where()}: {_cause(err)}") from err
        except self._openai.AuthenticationError as err:
            raise CsteerError(f"{self._where()} rejected the API key (set OPENAI_API_KEY)") from err
        except self._openai.NotFoundError as err:
            raise CsteerError(f"{self._where()} has no model {self.model!r}") from err
        except self._openai.APIStatusError as err:
            raise CsteerError(
                f"{self._where()} answered HTTP {err.status_code}: {_short(err.message)}"
            ) from err
        except self._openai.APIError as err:
            raise CsteerError(f"{self._where()} failed: {_short(str(err))}") from err
        usage = resp.usage
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            ),
            timing=Timing(seconds=time.perf_counter() - start),
            finish_reason=finish,
        )

    def _where(self) -> str:
        return f"OpenAI-compatible server {self.base_url or 'api.openai.com'}"

    def close(self) -> None:
        self.client.close()


def _cause(err: BaseException) -> str:
    root = err
    while root.__cause__ is not None:
        root = root.__cause__
    return _short(str(root) or type(root).__name__)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
