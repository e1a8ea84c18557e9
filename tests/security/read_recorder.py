"""Which query parameters and POST fields does a view read? A test-only middleware swaps the
request's GET and POST for copies that note every key asked for, so the bad-input walk finds a
parameter read straight from request.GET as surely as a field a Form declares."""

from django.http import QueryDict

EVERYTHING = "*"  # the code iterated the whole dict (items(), copy(), ...)


class RecordingQueryDict(QueryDict):
    read: set | None = None

    @classmethod
    def of(cls, original: QueryDict, read: set) -> "RecordingQueryDict":
        copy = cls(mutable=True, encoding=original.encoding)
        for key, values in original.lists():
            copy.setlist(key, values)
        copy._mutable = False
        copy.read = read
        return copy

    def _note(self, key) -> None:
        if self.read is not None:
            self.read.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self._note(key)
        return super().getlist(key, default)

    def _all(self):
        self._note(EVERYTHING)

    def items(self):
        self._all()
        return super().items()

    def lists(self):
        self._all()
        return super().lists()

    def keys(self):
        self._all()
        return super().keys()

    def __iter__(self):
        self._all()
        return super().__iter__()


class ReadRecorderMiddleware:
    """First in MIDDLEWARE during the walk; the keys read end up on request.keys_read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.keys_read = {"GET": set(), "POST": set()}
        request.GET = RecordingQueryDict.of(request.GET, request.keys_read["GET"])
        if request.method == "POST":
            request.POST = RecordingQueryDict.of(request.POST, request.keys_read["POST"])
        return self.get_response(request)
