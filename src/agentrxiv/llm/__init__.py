"""Model access: one chat interface over OpenAI-compatible endpoints and the embedded local
model (llama-cpp-python + SmolLM2), with retries, concurrency limits, a response cache, a
token/cost ledger with budgets, and structured (Pydantic) output."""
