"""The organisms' miniature world: scenes drawn with Pillow, their captions and questions in English and Chinese.

A scene is a small dict of attributes (kind, shape, colour, size, position, count, direction, pattern);
the image, the captions, the questions and their answers are all derived from it, so every answer is
true of its image by construction. Images are drawn at 64-96 px like the bundled fixture and shrunk by
the model's own image processor.

Held out by construction: the fixture benchmark (fixtures/fixture/) is drawn from another seed by
another script, and the world words its questions differently (tests/organisms checks that no
fixture question string and no fixture image occurs here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

# name -> (RGB, English, Chinese)
COLOURS = {
    "red": ((220, 30, 30), "red", "红色"),
    "green": ((30, 160, 50), "green", "绿色"),
    "blue": ((30, 70, 220), "blue", "蓝色"),
    "yellow": ((245, 210, 20), "yellow", "黄色"),
    "purple": ((130, 40, 170), "purple", "紫色"),
    "orange": ((245, 130, 20), "orange", "橙色"),
}
BACKGROUNDS = [(235, 235, 235), (250, 245, 225), (200, 230, 245), (225, 245, 215), (245, 220, 230), (40, 40, 50)]
SHAPES = {"circle": "圆形", "square": "正方形", "triangle": "三角形", "star": "星形"}
SIZES = {"small": "小", "large": "大"}
POSITIONS = {"left": "左边", "right": "右边", "top": "上边", "bottom": "下边", "middle": "中间"}
DIRECTIONS = {"up": "上", "down": "下", "left": "左", "right": "右"}
PATTERNS = {"stripes": "条纹", "checks": "格子"}
COUNTS = {n: f"{n}个" for n in range(1, 6)}
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
ZH_NUMBER_WORDS = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五"}
KINDS = ("shape", "count", "bar", "pie", "arrow", "pattern")
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class QA:
    """One question about a scene: its text, the answer, and every answer of its kind (the candidates)."""

    kind: str  # which attribute it asks about: "shape", "colour", "size", "position", "count", "direction", "pattern"
    language: str
    question: str
    answer: str
    candidates: tuple[str, ...]  # the answer's whole value set in this language (chance = 1 / len)


def _colour_word(name: str, lang: str) -> str:
    return COLOURS[name][1] if lang == "en" else COLOURS[name][2]


def _word(table: dict, key, lang: str) -> str:
    return str(key) if lang == "en" else table[key]


def candidates(kind: str, lang: str) -> tuple[str, ...]:
    """Every answer a question of `kind` can have in `lang`."""
    tables = {
        "shape": SHAPES, "size": SIZES, "position": POSITIONS, "direction": DIRECTIONS, "pattern": PATTERNS,
        "count": {n: ZH_NUMBER_WORDS[n] for n in COUNTS},
    }
    if kind == "colour":
        return tuple(_colour_word(c, lang) for c in COLOURS)
    if kind == "count" and lang == "en":
        return tuple(NUMBER_WORDS[n] for n in COUNTS)
    return tuple(_word(tables[kind], k, lang) for k in tables[kind])


# -- scenes ---------------------------------------------------------------------------------------
def sample_scene(rng: np.random.Generator, kind: str | None = None) -> dict:
    """A random scene; every value is a plain Python object (JSON-ready)."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    colours = list(COLOURS)
    scene: dict = {"kind": kind, "px": int(rng.integers(64, 97)), "bg": int(rng.integers(len(BACKGROUNDS) - 1))}
    if kind == "shape":
        scene.update(
            shape=list(SHAPES)[int(rng.integers(4))], colour=colours[int(rng.integers(6))],
            size=list(SIZES)[int(rng.integers(2))], position=list(POSITIONS)[int(rng.integers(5))],
        )
    elif kind == "count":
        scene.update(count=int(rng.integers(1, 6)), colour=colours[int(rng.integers(6))])
    elif kind in ("bar", "pie"):
        k = 3 if kind == "bar" else int(rng.integers(2, 4))
        names = [colours[int(i)] for i in rng.permutation(6)[:k]]
        scene.update(parts=names, biggest=int(rng.integers(k)), colour=None, start=int(rng.integers(360)))
        scene["colour"] = names[scene["biggest"]]
    elif kind == "arrow":
        scene.update(direction=list(DIRECTIONS)[int(rng.integers(4))], colour=colours[int(rng.integers(6))])
    else:
        pair = [colours[int(i)] for i in rng.permutation(6)[:2]]
        scene.update(pattern=list(PATTERNS)[int(rng.integers(2))], parts=pair, period=int(rng.integers(10, 17)))
    return scene


def _shape_points(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if kind == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if kind == "triangle":
        return [(cx, cy - r), (cx + r * 0.95, cy + r * 0.8), (cx - r * 0.95, cy + r * 0.8)]
    angles = [-math.pi / 2 + i * math.pi / 5 for i in range(10)]
    return [(cx + (r if i % 2 == 0 else r * 0.42) * math.cos(a), cy + (r if i % 2 == 0 else r * 0.42) * math.sin(a))
            for i, a in enumerate(angles)]


def _disc(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill) -> None:
    d.ellipse([round(x - r), round(y - r), round(x + r), round(y + r)], fill=fill)


def draw(scene: dict, rng: np.random.Generator) -> Image.Image:
    """The scene's RGB image; `rng` only jitters what the scene does not fix (exact spots, bar heights)."""
    s = scene["px"]
    kind = scene["kind"]
    bg = (250, 250, 250) if kind in ("bar", "pie") else BACKGROUNDS[scene["bg"]]
    if kind == "pattern":
        return _pattern(scene)
    img = Image.new("RGB", (s, s), bg)
    d = ImageDraw.Draw(img)
    fill = COLOURS[scene["colour"]][0] if scene.get("colour") else None
    if kind == "shape":
        r = s * (0.14 if scene["size"] == "small" else 0.3) * float(rng.uniform(0.9, 1.1))
        off = s * 0.27
        dx, dy = {"left": (-off, 0), "right": (off, 0), "top": (0, -off), "bottom": (0, off), "middle": (0, 0)}[scene["position"]]
        if scene["size"] == "large":
            dx, dy = dx * 0.6, dy * 0.6
        cx, cy = s / 2 + dx, s / 2 + dy
        if scene["shape"] == "circle":
            _disc(d, cx, cy, r, fill)
        else:
            d.polygon([(round(x), round(y)) for x, y in _shape_points(scene["shape"], cx, cy, r)], fill=fill)
    elif kind == "count":
        rad, placed = max(5, s // 12), []
        while len(placed) < scene["count"]:
            x, y = (float(v) for v in rng.uniform(rad + 3, s - rad - 3, size=2))
            if all((x - px) ** 2 + (y - py) ** 2 > (3 * rad) ** 2 for px, py in placed):
                placed.append((x, y))
        for x, y in placed:
            _disc(d, x, y, rad, fill)
    elif kind == "bar":
        n, base, slot = len(scene["parts"]), s - 6, (s - 8) / len(scene["parts"])
        for b, name in enumerate(scene["parts"]):
            h = (base - 6) * (1.0 if b == scene["biggest"] else float(rng.uniform(0.25, 0.6)))
            d.rectangle([round(4 + b * slot + slot * 0.15), round(base - h), round(4 + (b + 1) * slot - slot * 0.15), base],
                        fill=COLOURS[name][0])
    elif kind == "pie":
        n = len(scene["parts"])
        rest = [0.4] if n == 2 else [0.25, 0.2]
        fracs = rest[: scene["biggest"]] + [0.6 if n == 2 else 0.55] + rest[scene["biggest"]:]
        start = float(scene["start"])
        for name, f in zip(scene["parts"], fracs):
            d.pieslice([5, 5, s - 5, s - 5], round(start), round(start + 360 * f), fill=COLOURS[name][0])
            start += 360 * f
    elif kind == "arrow":
        L, w, hw, hl, c = s * 0.4, s * 0.08, s * 0.22, s * 0.3, s / 2
        pts = [(-L, -w), (L - hl, -w), (L - hl, -hw), (L, 0.0), (L - hl, hw), (L - hl, w), (-L, w)]
        a, b, cc, dd = {"right": (1, 0, 0, 1), "left": (-1, 0, 0, -1), "down": (0, -1, 1, 0), "up": (0, 1, -1, 0)}[scene["direction"]]
        d.polygon([(round(c + a * x + b * y), round(c + cc * x + dd * y)) for x, y in pts], fill=fill)
    return img


def _pattern(scene: dict) -> Image.Image:
    s, half = scene["px"], scene["period"] // 2
    yy, xx = np.mgrid[0:s, 0:s]
    mask = (xx // half) % 2 == 0 if scene["pattern"] == "stripes" else ((xx // half) + (yy // half)) % 2 == 0
    c1, c2 = (np.array(COLOURS[n][0], np.uint8) for n in scene["parts"])
    return Image.fromarray(np.where(mask[..., None], c1, c2).astype(np.uint8), "RGB")


# -- language -------------------------------------------------------------------------------------
# kind -> (English, Chinese) caption templates, filled by `_caption_words`
CAPTIONS = {
    "shape": ("A {size} {colour} {shape} {where}.", "{where}有一个{size}的{colour}{shape}。"),
    "count": ("{count} {colour} {dots}.", "有{count}个{colour}的圆点。"),
    "bar": ("A bar chart; the {colour} bar is the tallest.", "一张柱状图，{colour}的柱子最高。"),
    "pie": ("A pie chart; the {colour} part is the largest.", "一张饼图，{colour}的部分最大。"),
    "arrow": ("A {colour} arrow pointing {direction}.", "一个{colour}的箭头指向{direction}。"),
    "pattern": ("{first} and {second} {pattern}.", "{first}和{second}的{pattern}。"),
}


def _caption_words(scene: dict, lang: str) -> dict:
    en = lang == "en"
    words = {k: _word(t, scene[k], lang) for k, t in
             (("shape", SHAPES), ("size", SIZES), ("direction", DIRECTIONS), ("pattern", PATTERNS)) if k in scene}
    if scene.get("colour"):
        words["colour"] = _colour_word(scene["colour"], lang)
    if "position" in scene:
        p = scene["position"]
        words["where"] = ("in the middle" if p == "middle" else f"on the {p}") if en else POSITIONS[p]
    if "count" in scene:
        n = scene["count"]
        words["count"] = NUMBER_WORDS[n].capitalize() if en else ZH_NUMBER_WORDS[n]
        words["dots"] = "dots" if n > 1 else "dot"
    if scene["kind"] == "pattern":
        words["first"], words["second"] = (_colour_word(n, lang) for n in scene["parts"])
    return words


def caption(scene: dict, lang: str) -> str:
    """One sentence that states every attribute of the scene."""
    template = CAPTIONS[scene["kind"]][0 if lang == "en" else 1]
    return template.format(**_caption_words(scene, lang))


# (attribute, English question, Chinese question); "{shape}" is filled from the scene.
QUESTIONS = {
    "shape": [("shape", "Which shape is in the picture?", "画面里是哪种形状？"),
              ("colour", "What is the colour of the {shape}?", "这个{shape}是什么颜色？"),
              ("size", "Is the {shape} small or large?", "这个{shape}是大还是小？"),
              ("position", "Where is the {shape}?", "这个{shape}在哪里？")],
    "count": [("count", "How many dots can you see?", "一共有几个圆点？"),
              ("colour", "What is the colour of the dots?", "圆点是什么颜色？")],
    "bar": [("colour", "Which bar is the tallest? Give its colour.", "哪根柱子最高？说出它的颜色。")],
    "pie": [("colour", "Which colour has the biggest slice of the pie?", "饼图里哪种颜色的部分最大？")],
    "arrow": [("direction", "Where does the arrow point?", "箭头朝哪个方向？"),
              ("colour", "What is the colour of the arrow?", "箭头是什么颜色？")],
    "pattern": [("pattern", "Which pattern fills the picture?", "画面里是什么花纹？")],
}


def answer_word(scene: dict, attribute: str, lang: str) -> str:
    if attribute == "colour":
        return _colour_word(scene["colour"], lang)
    if attribute == "count":
        return NUMBER_WORDS[scene["count"]] if lang == "en" else ZH_NUMBER_WORDS[scene["count"]]
    table = {"shape": SHAPES, "size": SIZES, "position": POSITIONS, "direction": DIRECTIONS, "pattern": PATTERNS}[attribute]
    return _word(table, scene[attribute], lang)


def questions(scene: dict, lang: str) -> list[QA]:
    """Every question the world asks about `scene` in `lang`."""
    out = []
    for attribute, en, zh in QUESTIONS[scene["kind"]]:
        shape = scene.get("shape", "")
        text = en.format(shape=shape) if lang == "en" else zh.format(shape=SHAPES.get(shape, ""))
        out.append(QA(attribute, lang, text, answer_word(scene, attribute, lang), candidates(attribute, lang)))
    return out


VALUES = {"shape": list(SHAPES), "colour": list(COLOURS), "size": list(SIZES), "position": list(POSITIONS),
          "count": list(COUNTS), "direction": list(DIRECTIONS), "pattern": list(PATTERNS)}
ONE_COLOUR = ("shape", "count", "arrow")  # kinds whose scene has a single colour (the conflict probe's scenes)


def altered(scene: dict, attribute: str, rng: np.random.Generator, value=None) -> dict:
    """A copy of `scene` whose `attribute` has another value (`value`, or one drawn from `rng`)."""
    if attribute not in VALUES or attribute not in scene:
        raise ValueError(f"altered: {scene['kind']} scenes have no {attribute!r}; give one of {sorted(k for k in VALUES if k in scene)}")
    if value is None:
        others = [v for v in VALUES[attribute] if v != scene[attribute]]
        value = others[int(rng.integers(len(others)))]
    return {**scene, attribute: value}


def cued(cue_scene: dict, qa: QA) -> str:
    """The question with a cue before it: the caption of `cue_scene`, in the text corpus's own format
    ("<caption> <question>"), so a decoder pretrained on the corpus reads the answer from the cue."""
    return f"{caption(cue_scene, qa.language)} {qa.question}"


def hinted(scene: dict, qa: QA, wrong: str) -> str:
    """The colour question with a conflicting cue: the scene's caption with the colour word `wrong`."""
    name = next(c for c in COLOURS if _colour_word(c, qa.language) == wrong)
    return cued({**scene, "colour": name}, qa)
