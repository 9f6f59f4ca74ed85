"""The reference list sorted by author as a reader reads the names: pybtex's ``plain`` style,
whose author-year-title sort key keeps the braces that protect a corporate author
(``{{Kaleido AI GmbH}}``) and so files it after every other name. Registered as the
formatting style ``plain_by_author`` (``bibtex_default_style`` in ``_config.yml``)."""
import pybtex.plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.sorting.author_year_title import SortingStyle


class UnbracedAuthorYearTitle(SortingStyle):
    def person_key(self, person):
        return super().person_key(person).replace("{", "").replace("}", "")


class PlainByAuthor(PlainStyle):
    default_sorting_style = "author_year_title_unbraced"


pybtex.plugin.register_plugin("pybtex.style.sorting", "author_year_title_unbraced", UnbracedAuthorYearTitle)
pybtex.plugin.register_plugin("pybtex.style.formatting", "plain_by_author", PlainByAuthor)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
