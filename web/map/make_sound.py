"""Write the new-call alert (web/map/static/audio/new-call.wav): two short rising tones, made here, no download.

Run: python web/map/make_sound.py  (the file is committed; this script is how it was made).
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000
OUT = Path(__file__).parent / "static" / "audio" / "new-call.wav"


def tone(freq: float, seconds: float, *, volume: float = 0.5) -> list[int]:
    """One sine tone with 10 ms fades (no clicks), as 16-bit samples."""
    n = int(RATE * seconds)
    fade = int(RATE * 0.01)
    out = []
    for i in range(n):
        env = min(1.0, i / fade, (n - i) / fade)
        out.append(int(32767 * volume * env * math.sin(2 * math.pi * freq * i / RATE)))
    return out


def main() -> None:
    """Write the alert: 880 Hz, a gap, 1320 Hz, twice."""
    gap = [0] * int(RATE * 0.06)
    samples = (tone(880, 0.14) + gap + tone(1320, 0.18) + gap * 3) * 2
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(OUT), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))


if __name__ == "__main__":
    main()
