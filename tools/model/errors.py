"""The packager's one error: what the user must change, said in a line (package-model prints it and exits 2)."""


class PackagingError(RuntimeError):
    pass
