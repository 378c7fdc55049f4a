"""The production layer: hooks, admission stages, middleware and credential providers
built on the client's public extension points (``Client(hooks=..., admission=...,
middleware=..., request_stages=...)``); each is off until passed, cheap when on.

* ``rawclaude.client.logging_hook.LoggingHook`` -- one structured log record per call
  (``ANTHROPIC_LOG=info|debug`` turns it on for every client).
* :class:`UsageMeter` -- tokens and cost per model, per day, per tag.
* :class:`BudgetGuard` -- spend limits per period (in-process or Redis), an admission stage.
* :class:`CircuitBreakerStage` -- a circuit per (base URL, model), an admission stage.
* :class:`Fallbacks`, :class:`Router` -- other models when one is down; routing.
* :class:`RedactionStage` -- secrets and personal data out of user text before sending.
* :class:`ResponseCache` -- exact-match caching (memory LRU or Redis), single flight.
* :class:`EnvCredential`, :class:`FileCredential` -- credentials that rotate.
"""
