"""The public credit information catalog (公共信用信息目录), loaded from config/catalog/*.yaml."""

from xinyong.catalog.headers import normalize_header
from xinyong.catalog.schemas import Catalog, CatalogError, CatalogItem, FieldDef, PublicationRule
from xinyong.catalog.service import get_catalog, load_catalog, reset_catalog_cache

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogItem",
    "FieldDef",
    "PublicationRule",
    "get_catalog",
    "load_catalog",
    "normalize_header",
    "reset_catalog_cache",
]
