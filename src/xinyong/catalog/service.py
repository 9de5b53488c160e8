"""Loading the catalog from config/catalog/*.yaml, with errors that point at the file and line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from xinyong.catalog.schemas import Catalog, CatalogError, CatalogItem, LocatedValueError

_REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"

# PyYAML's problems, in the words an operator editing the file understands.
_YAML_PROBLEMS = {
    "could not find expected ':'": "缺少冒号“:”，或上一行的引号没有闭合",
    "mapping values are not allowed here": "此处不能出现“键: 值”，请检查缩进，或给含冒号的值加引号",
    "did not find expected key": "缩进不一致，或列表项与键混在同一层",
    "did not find expected '-' indicator": "列表项缩进不一致",
    "found character '\\t' that cannot start any token": "含有制表符（Tab），请改用空格缩进",
    "found undefined alias": "引用了未定义的锚点（*别名）",
    "found unexpected end of stream": "文件意外结束，请检查引号或括号是否闭合",
    "expected ',' or ']'": "方括号列表没有闭合，或缺少逗号",
    "expected ',' or '}'": "花括号映射没有闭合，或缺少逗号",
    "expected <block end>, but found '-'": "列表项缩进不一致",
    "expected a single document in the stream": "一个文件只能有一个信息项（不要使用 ---）",
}


def config_dir() -> Path:
    """XINYONG_CONFIG_DIR, else ./config when it has a catalog, else the repository's config/."""
    env = os.environ.get("XINYONG_CONFIG_DIR")
    if env:
        return Path(env)
    here = Path.cwd() / "config"
    if (here / "catalog").is_dir():
        return here
    return _REPO_CONFIG


def get_catalog() -> Catalog:
    """The catalog of the configured directory, loaded once.

    Called per record on some paths (the 双公示 export, payload building), so the directory is resolved once
    per (XINYONG_CONFIG_DIR, working directory) rather than with a stat and a realpath on every call."""
    return _cached_catalog(_catalog_dir(os.environ.get("XINYONG_CONFIG_DIR"), os.getcwd()))


@lru_cache(maxsize=16)
def _catalog_dir(_env: str | None, _cwd: str) -> str:
    return str((config_dir() / "catalog").resolve())


@lru_cache(maxsize=4)
def _cached_catalog(directory: str) -> Catalog:
    return load_catalog(Path(directory))


def reset_catalog_cache() -> None:
    _cached_catalog.cache_clear()
    _catalog_dir.cache_clear()


def load_catalog(directory: Path) -> Catalog:
    """Load every *.yaml (one item per file, file name = code); all problems reported at once."""
    if not directory.is_dir():
        raise CatalogError(
            f"找不到目录配置文件夹 {_display(directory)}，请检查 XINYONG_CONFIG_DIR", path=str(directory)
        )
    files = sorted(
        p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )
    items: dict[str, CatalogItem] = {}
    problems: list[CatalogError] = []
    for path in files:
        try:
            item = load_item(path)
        except CatalogError as exc:
            problems.append(exc)
            continue
        items[item.code] = item
    if problems:
        first = problems[0]
        raise CatalogError("\n".join(str(p) for p in problems), path=first.path, line=first.line)
    return Catalog(items=items)


def load_item(path: Path) -> CatalogItem:
    shown = _display(path)
    root, data = _parse(path, shown)
    try:
        item = CatalogItem.model_validate(data)
    except ValidationError as exc:
        messages = [_explain(err, root, shown) for err in exc.errors()]
        raise CatalogError("\n".join(m for m, _ in messages), path=shown, line=messages[0][1]) from None
    if item.code != path.stem:
        line = _line(_node_at(root, ("code",))[0])
        raise CatalogError(
            f'目录配置 {shown} 第{line}行：信息项代码 code "{item.code}" 与文件名 "{path.name}" 不一致，'
            f"请把文件改名为 {item.code}{path.suffix} 或修改 code",
            path=shown,
            line=line,
        )
    return item


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _parse(path: Path, shown: str) -> tuple[yaml.Node, Any]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogError(f"目录配置 {shown}：文件不是 UTF-8 编码，请另存为 UTF-8", path=shown) from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise CatalogError(f"目录配置 {shown} 第1行：文件为空", path=shown, line=1)
        _check_duplicate_keys(root, shown)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or exc.context or "").strip()
        said = next((text for known, text in _YAML_PROBLEMS.items() if known in problem), "")
        detail = f"{said}（{problem}）" if said else f"无法解析（{problem}）"
        where = f" 第{line}行" if line else ""
        raise CatalogError(
            f"目录配置 {shown}{where}：YAML 语法错误，{detail}", path=shown, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"目录配置 {shown}：YAML 语法错误（{exc}）", path=shown) from None
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        raise CatalogError(
            f"目录配置 {shown} 第{_line(root)}行：文件内容应为“键: 值”形式的信息项定义",
            path=shown,
            line=_line(root),
        )
    return root, data


def _check_duplicate_keys(node: yaml.Node, shown: str) -> None:
    # PyYAML keeps the last of two equal keys silently; in a catalog that hides a mistake.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    line = _line(key)
                    raise CatalogError(
                        f"目录配置 {shown} 第{line}行：配置项 {key.value} 重复出现", path=shown, line=line
                    )
                seen.add(key.value)
            _check_duplicate_keys(value, shown)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _check_duplicate_keys(child, shown)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _node_at(root: yaml.Node, loc: Sequence[str | int]) -> tuple[yaml.Node, bool]:
    """The node a pydantic location points at, or the deepest existing ancestor (found=False)."""
    node = root
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    nxt = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            return node, False
        node = nxt
    return node, True


def _key_node(root: yaml.Node, loc: Sequence[str | int]) -> yaml.Node | None:
    parent, found = _node_at(root, loc[:-1])
    if found and isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(loc[-1]):
                return key
    return None


def _explain(err: ErrorDetails, root: yaml.Node, shown: str) -> tuple[str, int]:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, LocatedValueError):
        loc = loc + cause.loc
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
    names = [p for p in loc if isinstance(p, str)]
    key = names[-1] if names else "（根）"
    kind = err["type"]
    value = err.get("input")
    node, _ = _node_at(root, loc)
    if kind == "extra_forbidden":
        node = _key_node(root, loc) or node
        text = f"未知的配置项 {key}，请检查拼写"
    elif kind == "missing":
        text = f"缺少必填项 {key}"
    elif kind == "value_error" and cause is not None:
        said = str(cause)
        text = (
            said
            if isinstance(cause, LocatedValueError)
            else f"字段 {key} {'的' if said.startswith('取值') else ''}{said}"
        )
    elif value is None:
        text = f"字段 {key} 不能为空"
    elif kind in ("string_type", "str_type"):
        text = f"字段 {key} 应为文字（收到 {_show(value)}），数字或日期请加引号"
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        text = f"字段 {key} 应为整数（收到 {_show(value)}）"
    elif kind in ("bool_type", "bool_parsing"):
        text = f"字段 {key} 应为 true 或 false（收到 {_show(value)}）"
    elif kind == "list_type":
        text = f"字段 {key} 应为列表，如 [甲, 乙]（收到 {_show(value)}）"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        text = f"字段 {key} 应为“键: 值”映射（收到 {_show(value)}）"
    elif kind == "greater_than":
        text = f"字段 {key} 应大于 {ctx.get('gt')}（收到 {_show(value)}）"
    elif kind in ("too_short", "string_too_short"):
        text = f"字段 {key} 不能为空，至少需要 {ctx.get('min_length', 1)} 项"
    else:
        text = f"字段 {key} 的取值 {_show(value)} 无效（{err['msg']}）"
    line = _line(node)
    return f"目录配置 {shown} 第{line}行：{text}", line


def _show(value: object) -> str:
    text = str(value)
    return f'"{text if len(text) <= 40 else text[:37] + "…"}"'
