"""YAML configuration files validated by pydantic, with errors that name the file and the line.

Shared by list types (config/lists) and measures (config/measures). The catalog has its own, richer loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file that cannot be used; the Chinese message names the file and the line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


def display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def parse(path: Path, what: str) -> tuple[yaml.Node, Any]:
    shown = display(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {shown}：文件不是 UTF-8 编码，请另存为 UTF-8", path=shown) from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{what} {shown} 第1行：文件为空", path=shown, line=1)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        where = f" 第{line}行" if line else ""
        raise ConfigError(f"{what} {shown}{where}：YAML 语法错误（{exc.problem or exc.context}），请检查缩进、冒号和引号",
                          path=shown, line=line) from None
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{what} {shown} 第{line_of(root)}行：文件内容应为“键: 值”形式", path=shown, line=line_of(root))
    return root, data


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def node_at(root: yaml.Node, loc: tuple[str | int, ...]) -> yaml.Node:
    """The node a pydantic location points at, or its deepest existing ancestor."""
    node = root
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            return node
        node = nxt
    return node


# Chinese wording for the fields an operator most often gets wrong.
_MISSING_HINTS = {
    "legal_basis": "必须写明法律依据（文件名称 document 和条款 article）：没有法律、法规或党中央、国务院政策文件依据的不得设立",
    "document": "法律依据须写明文件名称，如《……办法》（……令第N号）",
}


def validate(model: type[M], root: yaml.Node, data: Any, path: Path, what: str,
             prefix: tuple[str | int, ...] = ()) -> M:
    shown = display(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        messages = []
        first_line = None
        for err in exc.errors():
            loc = prefix + tuple(err["loc"])
            node = node_at(root, loc)
            line = line_of(node)
            first_line = first_line or line
            key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "（根）")
            if err["type"] == "missing":
                hint = _MISSING_HINTS.get(key, "")
                text = f"缺少必填项 {key}" + (f"：{hint}" if hint else "")
            elif err["type"] == "too_short":
                hint = _MISSING_HINTS.get(key, "")
                text = f"{key} 不能为空" + (f"：{hint}" if hint else "")
            elif err["type"] == "extra_forbidden":
                text = f"未知的配置项 {key}，请检查拼写"
            elif err["type"] == "value_error":
                text = f"{key}：{err.get('ctx', {}).get('error', err['msg'])!s}"
            else:
                text = f"{key} 的取值 {str(err.get('input'))[:40]!r} 无效（{err['msg']}）"
            messages.append(f"{what} {shown} 第{line}行：{text}")
        raise ConfigError("\n".join(messages), path=shown, line=first_line) from None


def yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("."))
