"""The audio siptest sends into its calls: a steady tone (pjsua2, imported lazily)."""

from __future__ import annotations

from typing import Any


class ToneSource:
    """A steady 440 Hz tone sent into every active call: real audio, not silence."""

    def __init__(self, pj: Any) -> None:
        self._pj = pj
        self._tone: Any = None

    def start(self, call: Any) -> None:
        pj = self._pj
        try:
            media = call.getAudioMedia(-1)
            if self._tone is None:
                tone = pj.ToneGenerator()
                tone.createToneGenerator()
                desc = pj.ToneDesc()
                desc.freq1, desc.freq2, desc.on_msec, desc.off_msec = 440, 0, 1000, 0
                tones = pj.ToneDescVector()
                tones.append(desc)
                tone.play(tones, True)
                self._tone = tone
            self._tone.startTransmit(media)
        except pj.Error:  # tolerated: no tone; the media figures then show silence sent
            pass

    def close(self) -> None:
        """Drop the generator: no pjsua2 media object may outlive the library."""
        self._tone = None
