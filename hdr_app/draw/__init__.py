"""The Draw page's parts: ``ui`` (the canvas made instant, the answer with the digit check's doubt, the 28 x 28
view) and ``instant`` (the selected model on LiteRT, single-threaded, for a stroke-to-answer under 100 ms)."""
