"""A deterministic corpus of local articles, in feeds' shape and in Pelican's.

Every article is a function of the seed and its number, so two runs (and two
machines) benchmark the same bytes. The shape follows the project's seed
article: YAML front matter, a `[原文链接](URL)` line, Chinese paragraphs, a
thematic break, an English **Summary** with a bullet list and a
`[Source Link](URL)` line. A third of the articles are Chinese only and a
sixth English only, so both language detectors and single-variant paths are
exercised too. The text comes from fixed pools of sentences written for this
benchmark; no text of the seed article is reused.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = [
    "AUTHORS",
    "EN_SENTENCES",
    "EN_TITLES",
    "TAGS",
    "ZH_SENTENCES",
    "ZH_TITLES",
    "Article",
    "edit_article",
    "generate_article",
    "render_feeds_article",
    "write_feeds_corpus",
    "write_pelican_corpus",
]

BODY_BYTES = 2700

TAGS: tuple[str, ...] = (
    "energy", "technology", "ai", "climate", "economy", "trade", "health", "science",
    "space", "transport", "education", "culture", "sports", "finance", "markets", "policy",
    "security", "agriculture", "water", "housing", "labour", "manufacturing", "semiconductors",
    "batteries", "software", "open source", "music", "film", "books", "travel",
    "科技", "能源", "经济", "气候", "教育", "文化", "体育", "金融", "交通", "农业",
    "城市", "医疗", "航天", "环境", "制造业", "人工智能", "芯片", "电池", "音乐", "旅游",
)

AUTHORS: tuple[str, ...] = (
    "desk", "ft", "reuters-digest", "wire", "li wei", "zhang min", "wang fang", "chen jie",
    "liu yang", "anna berg", "tom hughes", "sara costa", "ken ito", "mei lin", "night desk",
    "science desk", "markets desk", "editor", "guest", "archive",
)

ZH_SENTENCES: tuple[str, ...] = (
    "这座新建的储能电站今年春天在西北地区正式并网，可以在用电高峰时段为周边城市提供稳定电力。",
    "项目负责人表示，电站采用了模块化设计，后续扩容时无需停机，维护成本也明显下降。",
    "当地政府计划在未来三年内再建设五座类似设施，以配合风电和光伏装机容量的快速增长。",
    "分析人士认为，储能成本的持续下降正在改变电网规划的思路，调峰不再只依赖燃煤机组。",
    "一家芯片封装企业宣布在长江沿岸新建工厂，预计明年下半年投产，届时将带来两千个岗位。",
    "公司高管在发布会上说，先进封装是提升算力的关键环节，市场需求远远超过了现有产能。",
    "市图书馆开始试用自动分拣机器人，读者归还的图书在几分钟内就能回到书架上。",
    "馆方介绍，机器人夜间也能工作，工作人员因此有更多时间开展阅读推广和社区活动。",
    "沿海湿地调查显示，越冬候鸟的数量比五年前增加了近三成，其中包括多种珍稀物种。",
    "研究人员指出，退养还湿和严格的禁捕措施是鸟类数量回升的重要原因。",
    "铁路货运部门推出数字化调度平台，集装箱的平均周转时间缩短了约百分之十五。",
    "物流企业反映，新平台让运单信息实时可查，跨省运输的沟通成本大大降低。",
    "今年前三个季度，茶叶出口额同比增长百分之八，中东和中亚市场的需求尤其旺盛。",
    "茶农们说，标准化种植和可追溯体系让他们的产品更容易进入国际超市的货架。",
    "一个开源编译器项目发布了新版本，编译速度提升明显，并且改进了错误提示信息。",
    "维护者在公告中感谢了来自世界各地的贡献者，并公布了下一阶段的开发路线图。",
    "热泵销量在北方农村地区持续走高，不少家庭用它替代了传统的散煤取暖。",
    "能源专家提醒，热泵在严寒天气下效率会下降，选购时需要关注低温工况下的性能。",
    "气象部门预计，本周后半段将有一次明显的降温过程，部分地区可能出现今冬首场降雪。",
    "交通管理部门建议驾车出行的市民提前规划路线，并留意道路结冰的实时信息。",
    "一家人工智能公司发布了新的语言模型，声称在多项基准测试中超过了上一代产品。",
    "不过，独立研究者提醒，基准测试分数并不能完全反映模型在真实场景中的表现。",
    "唱片公司与视频平台就音乐授权展开谈判，双方都希望在新技术浪潮中找到合作方式。",
    "许多音乐人担心，自己的作品会在未经许可的情况下被用来训练生成模型。",
    "央行在最新的货币政策报告中表示，将保持流动性合理充裕，支持实体经济发展。",
    "市场人士认为，年内仍有进一步降准的空间，但具体时点取决于经济数据的走势。",
    "这座城市启动了老旧小区改造计划，加装电梯和改善排水系统是居民最关心的内容。",
    "社区工作人员挨家挨户征求意见，改造方案在公示期内收到了数百条建议。",
    "一支科研团队在新型电池材料上取得突破，实验电池在快速充电条件下循环寿命显著提高。",
    "团队负责人表示，距离大规模量产还有不少工程问题需要解决，预计至少还要三年时间。",
    "航天部门宣布，新一代运载火箭完成了发动机长程试车，各项参数均符合设计要求。",
    "按照计划，这枚火箭将在明年首飞，主要承担近地轨道大型载荷的发射任务。",
    "多所高校联合推出在线课程平台，偏远地区的学生也能免费学习名校的基础课程。",
    "教育工作者指出，网络课程需要配合线下辅导，才能真正提高学生的学习效果。",
    "今年的国际电影节共收到来自八十多个国家和地区的报名影片，数量创下历史新高。",
    "评委会主席在开幕式上说，年轻导演的作品展现了对社会现实的敏锐观察。",
    "农业农村部门推广节水灌溉技术，干旱地区的小麦亩产在用水减少的情况下仍有提高。",
    "合作社负责人说，智能传感器能告诉农户什么时候该浇水，省水又省力。",
    "医疗机构开始试点远程会诊，县级医院的患者不出县城就能得到省城专家的诊断意见。",
    "卫生部门表示，将在总结试点经验的基础上，逐步把远程医疗覆盖到更多乡镇卫生院。",
)

ZH_TITLES: tuple[str, ...] = (
    "新型储能电站在西北并网发电", "芯片封装工厂落户长江沿岸", "图书馆试用自动分拣机器人",
    "沿海湿地候鸟数量明显回升", "铁路货运启用数字化调度", "茶叶出口保持较快增长",
    "开源编译器发布重要更新", "北方农村热泵销量走高", "本周后半段将迎来明显降温",
    "人工智能公司发布新模型", "音乐授权谈判进入关键阶段", "央行表示保持流动性合理充裕",
    "老旧小区改造计划启动", "新型电池材料取得突破", "新一代运载火箭完成试车",
    "高校联合推出在线课程", "国际电影节报名影片创新高", "节水灌溉助力小麦增产",
    "远程会诊走进县级医院", "城市更新中的社区参与",
)

EN_SENTENCES: tuple[str, ...] = (
    "A grid-scale storage plant went online this spring and can carry nearby cities through "
    "the evening peak.",
    "Its modular design lets operators add capacity without shutting the plant down, cutting "
    "maintenance costs.",
    "The regional government plans five more such sites over three years to match the growth "
    "of wind and solar.",
    "Analysts say cheaper storage is changing how grids are planned, with less reliance on coal for peaking.",
    "A chip packaging company will build a plant along the Yangtze, due to start production late next year.",
    "Executives called advanced packaging the key to more computing power, with demand far above capacity.",
    "The city library is trialling sorting robots that put returned books back on the shelves "
    "within minutes.",
    "Staff say the robots work overnight, which frees librarians for reading programmes and "
    "community events.",
    "A survey of coastal wetlands counted almost a third more wintering birds than five years ago.",
    "Researchers credit the restored marshes and a strict fishing ban for the recovery of rare species.",
    "Rail freight introduced a digital dispatch platform that cut container turnaround times "
    "by about 15 percent.",
    "Logistics firms report that live waybill tracking has made cross-province shipping far "
    "easier to coordinate.",
    "Tea exports rose eight percent in the first three quarters, led by demand from the Middle "
    "East and Central Asia.",
    "Growers say standard cultivation and traceability help their tea reach international "
    "supermarket shelves.",
    "An open-source compiler shipped a release with markedly faster builds and clearer error messages.",
    "The maintainers thanked contributors from around the world and published a roadmap for the next cycle.",
    "Heat pump sales keep climbing in northern villages, where many homes are replacing loose-coal stoves.",
    "Energy experts warn that efficiency drops in severe cold, so buyers should check "
    "low-temperature ratings.",
    "Forecasters expect a sharp drop in temperature later this week, with the first snow of "
    "winter in places.",
    "Traffic authorities advise drivers to plan routes ahead and watch for live reports of icy roads.",
    "An AI company released a new language model that it says beats its predecessor on several benchmarks.",
    "Independent researchers caution that benchmark scores do not fully capture behaviour in real use.",
    "Record labels and a video platform are negotiating music licences as both sides look for a way forward.",
    "Many musicians fear their recordings will be used to train generative models without their consent.",
    "The central bank said it will keep liquidity reasonably ample to support the real economy.",
    "Market participants see room for another cut to reserve requirements, depending on the data.",
    "The city launched a renovation programme for old housing estates, with lifts and drainage "
    "at the top of the list.",
    "Community workers went door to door, and the plan drew hundreds of suggestions during its "
    "public notice.",
    "A research team reported a battery material that greatly extends cycle life under fast charging.",
    "Its lead scientist said mass production is at least three years away, with engineering "
    "problems to solve.",
    "The space agency completed a long-duration engine test of its next-generation launch vehicle.",
    "The rocket is scheduled to fly next year and will carry heavy payloads to low Earth orbit.",
    "Several universities opened an online course platform so students in remote areas can study for free.",
    "Teachers note that online courses work best when paired with tutoring in the classroom.",
    "This year's international film festival received entries from more than eighty countries and regions.",
    "The jury president said young directors showed a sharp eye for social reality.",
    "Water-saving irrigation raised wheat yields in dry regions even as farms used less water.",
    "A cooperative manager said soil sensors tell farmers when to irrigate, saving both water and labour.",
    "Hospitals are piloting remote consultations so county patients can see provincial specialists.",
    "Health officials plan to extend telemedicine to more township clinics once the pilot is reviewed.",
)

EN_TITLES: tuple[str, ...] = (
    "Storage plant joins the north-west grid", "Chip packaging plant comes to the Yangtze",
    "Library robots sort returned books", "Wetland bird numbers recover", "Rail freight goes digital",
    "Tea exports keep growing", "Compiler release speeds up builds", "Heat pumps heat northern villages",
    "Cold snap expected this week", "New language model released", "Music licensing talks "
    "reach a turning point",
    "Central bank pledges ample liquidity", "Old estates get lifts and drains", "Battery "
    "material breakthrough",
    "Rocket engine passes long test", "Universities open online courses", "Film festival breaks entry record",
    "Irrigation saves water and lifts yields", "Remote consultations reach county hospitals",
    "Residents shape city renewal",
)

_DOMAINS: tuple[str, ...] = (
    "news.example.org", "ft.example.com", "wire.example.net", "daily.example.cn", "tech.example.io",
)

_EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 6 * 365 * 24 * 3600  # dates spread over six years


@dataclass(frozen=True)
class Article:
    """One generated article: where it lives, its metadata and its Markdown body."""

    number: int
    relpath: str  # below the articles directory, e.g. "2021/a-000042.md"
    kind: str  # "zh", "en" or "zh+en"
    title: str
    date: datetime
    description: str
    tags: tuple[str, ...]
    author: str
    link: str
    body: str


def _fill(rng: random.Random, pool: tuple[str, ...], nbytes: int, per_paragraph: int) -> list[str]:
    """Paragraphs of `per_paragraph` sentences from `pool` until about `nbytes` of UTF-8."""
    paragraphs: list[str] = []
    size = 0
    while size < nbytes:
        text = ("" if pool is ZH_SENTENCES else " ").join(rng.sample(pool, per_paragraph))
        paragraphs.append(text)
        size += len(text.encode()) + 2
    return paragraphs


def generate_article(seed: int, number: int) -> Article:
    """Article `number` of the corpus seeded with `seed`: the same bytes every time."""
    rng = random.Random(f"{seed}:article:{number}")
    roll = rng.random()
    kind = "zh+en" if roll < 0.5 else "zh" if roll < 0.83 else "en"
    date = _EPOCH + timedelta(seconds=rng.randrange(_SPAN_SECONDS))
    link = f"https://{rng.choice(_DOMAINS)}/content/{seed:x}-{number:06d}"
    tags = tuple(rng.sample(TAGS, rng.randint(1, 4)))
    author = rng.choice(AUTHORS)
    description = rng.choice(EN_SENTENCES)
    if kind == "en":
        title = f"{rng.choice(EN_TITLES)} ({number})"
        parts = ["**Summary**", ""]
        parts += [f"- {p}" for p in _fill(rng, EN_SENTENCES, BODY_BYTES // 2, 2)]
        parts += ["", *(f"{p}\n" for p in _fill(rng, EN_SENTENCES, BODY_BYTES // 2, 3))]
        parts += [f"[Source Link]({link})"]
    else:
        title = f"{rng.choice(ZH_TITLES)}（{number}）"
        zh_bytes = BODY_BYTES if kind == "zh" else BODY_BYTES * 6 // 10
        parts = [f"[原文链接]({link})", "", title, "", f"**{rng.choice(ZH_TITLES)}**", ""]
        parts += [f"- {p}" for p in _fill(rng, ZH_SENTENCES, zh_bytes, 2)]
        if kind == "zh+en":
            parts += ["", "---", "", "**Summary**", ""]
            parts += [f"- {p}" for p in _fill(rng, EN_SENTENCES, BODY_BYTES * 4 // 10, 2)]
            parts += ["", f"[Source Link]({link})"]
    year = date.year
    return Article(
        number=number,
        relpath=f"{year}/a-{number:06d}.md",
        kind=kind,
        title=title,
        date=date,
        description=description,
        tags=tags,
        author=author,
        link=link,
        body="\n".join(parts) + "\n",
    )


def _yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (JSON's escaping is valid YAML)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_feeds_article(article: Article) -> str:
    """The article as feeds reads it: YAML front matter, then the Markdown body."""
    tags = "\n".join(f"- {_yaml_string(t)}" for t in article.tags)
    return (
        "---\n"
        f"title: {_yaml_string(article.title)}\n"
        f"date: {article.date.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        f"description: {_yaml_string(article.description)}\n"
        f"tags:\n{tags}\n"
        f"author: {_yaml_string(article.author)}\n"
        "---\n\n"
        f"{article.body}"
    )


def render_pelican_article(article: Article) -> str:
    """The article as Pelican's Markdown reader wants it: `Key: value` header lines.

    Pelican reads YAML front matter only through a plugin, so its copy carries
    the same metadata in its own header syntax. `Slug` is explicit because
    Pelican's slugs of Chinese titles would collide and turn articles into
    each other's translations; `Lang` is the article's first language.
    `Category` is the year folder the file lives in, what Pelican's
    USE_FOLDER_AS_CATEGORY would give: Pelican derives categories from
    folders only while it writes category pages, and the benchmark turns
    those off but keeps the category feeds.
    """
    lang = "en" if article.kind == "en" else "zh"
    return (
        f"Title: {article.title}\n"
        f"Date: {article.date.strftime('%Y-%m-%d %H:%M:%S')}\n"
        f"Category: {article.date.year}\n"
        f"Tags: {', '.join(article.tags)}\n"
        f"Author: {article.author}\n"
        f"Summary: {article.description}\n"
        f"Slug: a-{article.number:06d}\n"
        f"Lang: {lang}\n"
        "\n"
        f"{article.body}"
    )


def _write_corpus(root: Path, seed: int, count: int, render: str) -> list[Article]:
    articles = [generate_article(seed, n) for n in range(count)]
    made: set[Path] = set()
    for article in articles:
        path = root / article.relpath
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        text = render_feeds_article(article) if render == "feeds" else render_pelican_article(article)
        path.write_text(text, encoding="utf-8")
    return articles


def write_feeds_corpus(articles_dir: Path, seed: int, count: int) -> list[Article]:
    """Write `count` articles in feeds' format below `articles_dir`; returns them."""
    return _write_corpus(articles_dir, seed, count, "feeds")


def write_pelican_corpus(content_dir: Path, seed: int, count: int) -> list[Article]:
    """Write the same `count` articles in Pelican's format below `content_dir`."""
    return _write_corpus(content_dir, seed, count, "pelican")


def edit_article(articles_dir: Path, article: Article, revision: int) -> None:
    """Rewrite one article with a new English paragraph (a real edit: size and bytes change)."""
    rng = random.Random(f"edit:{article.number}:{revision}")
    extra = " ".join(rng.sample(EN_SENTENCES, 2))
    edited = replace(article, body=f"{article.body}\nUpdate {revision}: {extra}\n")
    (articles_dir / article.relpath).write_text(render_feeds_article(edited), encoding="utf-8")
