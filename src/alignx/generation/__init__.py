"""Generation behind one interface: `base.Generator` (a batch of chat requests, or one request streamed), built
on a local transformers model (`local`) or any OpenAI-compatible server (`upstream`), with the settings that
decide the texts (`base.Settings`) read by both. `alignx generate`, best-of-N and the service's chat use it."""
