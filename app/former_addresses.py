"""Former addresses that bookmarks may still hold."""

from flask import Blueprint, redirect, request, url_for


def redirect_slash_to_index(bp: Blueprint) -> None:
    """The blueprint's address with a trailing slash (its page's former address): a permanent
    redirect to its index page, whose address has none (PRODUCT.md's URL map)."""

    def old_index():
        return redirect(url_for(f"{bp.name}.index", **request.args), 301)

    bp.add_url_rule("/", "old_index", old_index, methods=["GET"])
