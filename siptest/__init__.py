"""siptest: a SIP registration and dial tester that explains its results."""

__version__ = "0.1.0"
