"""`csteer serve`: steered runs behind an OpenAI-compatible HTTP API.

    openai_shapes.py  request parsing, completion / chunk / error shapes (no web framework)
    service.py        setups (Assembly per model id), lanes (worker + bounded queue), jobs, run log
    app.py            the FastAPI app: /v1/chat/completions (+ SSE), /v1/models, /health
    server.py         uvicorn startup and the graceful shutdown
    client.py         the warm path of `csteer ask` and the `llm` plugin: find a server, ask it
    llm_plugin.py     csteer as an `llm` model (entry point group `llm`)

FastAPI and uvicorn are imported only inside functions: `csteer --help` does not pay for them.
"""
