from hypothesis import settings

# CI profile (style.md): reproducible, no deadlines on a noisy 2-core machine.
settings.register_profile("ci", deadline=None, derandomize=True, max_examples=60)
settings.load_profile("ci")
