"""X12 5010: 837P writer, envelopes and control numbers, escaping; 999/277CA readers."""
