#!/usr/bin/env python3
"""Writes include/chord/instances/<topic>_<type>.inc: the explicit instantiations of chord's
templates for float and double, which the compiled mode (docs/design.md, "The compiled mode")
declares `extern template` in every program and defines once in the library chord::compiled.

    python3 tools/gen_instances.py           # rewrites the .inc files
    python3 tools/gen_instances.py --check   # exits 1 when a .inc file is not what it would write

Run it after adding, removing or changing the signature of a public template; the CTest test
`compiled_instances_current` runs --check, so a stale list fails the tests.

What it lists, per topic header (tensor, nn, optim, io, sample, rl): every class template and
function template of one type parameter (`template <FloatingPoint T>`, `<Element T>`,
`<class T>`, `<typename T>`) defined at namespace scope in the topic's layers, outside
namespaces whose name ends in `detail` (their templates are instantiated through the public
ones), with its default arguments dropped and T replaced by float and by double. A template that
cannot take float or double is named in SKIP below, with the reason.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE = ROOT / "include" / "chord"
OUT = INCLUDE / "instances"
TOPICS = {
    "tensor": ["core", "autograd", "ops"],
    "nn": ["nn"],
    "optim": ["optim"],
    "io": ["io"],
    "sample": ["sample"],
    "rl": ["rl"],
}
TYPES = ["float", "double"]
# (namespace, name): why it is not listed.
SKIP = {}

HEAD = re.compile(r"template\s*<\s*(?:FloatingPoint|Element|class|typename)\s+T(?:\s*=\s*[\w:]+)?\s*>\s*$")


def strip_comments(text):
    """Comments and string/char literals blanked (same length, so offsets stay)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)


def split_top(s, sep):
    """s split at the separators that are outside (), <>, [] and {}."""
    parts, depth, cur = [], 0, ""
    for c in s:
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur); cur = ""
        else:
            cur += c
    parts.append(cur)
    return parts


def drop_default(param):
    # The first top-level "=" starts the default argument ("T alpha = T(1)").
    depth = 0
    for k, c in enumerate(param):
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        elif c == "=" and depth == 0 and param[k - 1] not in "<>!=" and param[k + 1 : k + 2] != "=":
            return param[:k].strip()
    return param.strip()


def declarations(path):
    """(namespace, kind, text) for each listed template of one header; kind is class or function."""
    text = strip_comments(path.read_text())
    found, stack, i, n = [], [], 0, len(text)
    statement_start = 0
    while i < n:
        c = text[i]
        if c == "{":
            before = text[statement_start:i].strip()
            m = re.match(r"(?:inline\s+)?namespace\s+([\w:]+)\s*$", before)
            if m:
                stack.append(("namespace", m.group(1)))
                statement_start = i + 1
                i += 1
                continue
            # A definition at namespace scope: is it a template of one type parameter?
            at_namespace = all(kind == "namespace" for kind, _ in stack)
            if at_namespace and before.startswith("template"):
                found.extend(entry(stack, before))
            # Skip to the matching brace.
            depth = 0
            while i < n:
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
            # A class definition ends with ";" after its brace.
            while i < n and text[i] in " \t\n":
                i += 1
            if i < n and text[i] == ";":
                i += 1
            statement_start = i
            continue
        if c == "}":
            stack.pop()
            statement_start = i + 1
        elif c == ";" or (c == "#" and (i == 0 or text[i - 1] == "\n")):
            if c == "#":  # a preprocessor directive, with its continuation lines (a macro's body)
                j = text.find("\n", i)
                while j > 0 and text[j - 1] == "\\":
                    j = text.find("\n", j + 1)
                i = n if j < 0 else j
            statement_start = i + 1
        i += 1
    return found


def entry(stack, decl):
    namespace = "::".join(name for _, name in stack)
    if any(part.endswith("detail") for part in namespace.split("::")):
        return []
    decl = " ".join(decl.split())
    m = re.match(r"(template\s*<[^<>]*(?:<[^<>]*>[^<>]*)*>)\s*(.*)$", decl)
    if not m or not HEAD.match(m.group(1)):
        return []
    rest = m.group(2)
    cm = re.match(r"(?:class|struct)\s+(\w+)\b", rest)
    if cm:
        name = cm.group(1)
        if (namespace, name) in SKIP:
            return []
        return [(namespace, "class", f"class {name}<T>")]
    if " requires " in f" {rest} " or rest.startswith("auto ") or "decltype(auto)" in rest:
        return []
    fm = re.match(r"(?:(?:inline|constexpr|static|\[\[nodiscard\]\])\s+)*(.+?)\s*\b(operator\s*[^\s(]+|\w+)\s*\((.*)\)\s*(const)?\s*(noexcept)?\s*$", rest)
    if not fm:
        return []
    ret, name, params = fm.group(1), fm.group(2).replace(" ", ""), fm.group(3)
    # An out-of-line member definition (`void Tensor<T>::backward(...)`) comes with its class.
    if (namespace, name) in SKIP or ret in ("", "template") or ret.endswith("::"):
        return []
    params = [drop_default(p) for p in split_top(params, ",")] if params.strip() else []
    template_args = "<T>" if not name.startswith("operator") else " <T>"
    return [(namespace, "function", f"{ret} {name}{template_args}({', '.join(params)})")]


def render(topic, type_name):
    lines = [
        f"// Generated by tools/gen_instances.py: do not edit. The {topic} topic's templates for {type_name}.",
        "// Each line is prefixed by CHORD_INSTANCE: `extern template` in programs of the compiled mode,",
        "// `template` in the library chord::compiled, which compiles them once (docs/design.md).",
    ]
    for layer in TOPICS[topic]:
        for path in sorted((INCLUDE / layer).glob("*.hpp")):
            entries = declarations(path)
            if not entries:
                continue
            lines.append(f"// {layer}/{path.name}")
            current = None
            for namespace, kind, text in entries:
                if namespace != current:
                    if current is not None:
                        lines.append("}")
                    lines.append(f"namespace {namespace} {{")
                    current = namespace
                lines.append("CHORD_INSTANCE " + re.sub(r"\bT\b", type_name, text) + ";")
            lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    check = sys.argv[1:] == ["--check"]
    stale = []
    for topic in TOPICS:
        for type_name in TYPES:
            path = OUT / f"{topic}_{type_name}.inc"
            text = render(topic, type_name)
            if check:
                if not path.exists() or path.read_text() != text:
                    stale.append(path.relative_to(ROOT))
            else:
                OUT.mkdir(exist_ok=True)
                if not path.exists() or path.read_text() != text:
                    path.write_text(text)
                    print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("gen_instances: stale (run python3 tools/gen_instances.py): " + ", ".join(map(str, stale)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
