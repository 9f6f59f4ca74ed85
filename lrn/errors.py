"""The one error type that bad input raises, so callers can catch it without catching bugs."""


class InputError(ValueError):
    """A bad file, folder, parameter or value given by the user.

    The message always names the offending file or value and says what was expected.
    """
