"""The benchmark corpus: seeded, real-ish CMS content in Korean, Japanese, Chinese and English.

Every benchmark (scoring, pipeline, and the end-to-end run through Redis) draws its items
from here, so their numbers describe the same workload. Text is composed from small
per-language grammars (time phrase, subject, predicate, ending) rather than lorem ipsum:
it has the scripts, particles, punctuation and word lengths of real content, and few
enough repeats that spam rules do not fire on every article. Everything is a pure
function of its seed; nothing here reads the clock, the network or the model.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LANGUAGES: tuple[str, ...] = ("ko", "ja", "zh", "en")
SCORING_SEED = 20261125
SCORING_ITEM_COUNT = 512


@dataclass(frozen=True)
class Kind:
    """A content type with its character range and its share of the traffic."""

    name: str
    min_chars: int
    max_chars: int
    share: float


# A CMS sees many comments, fewer posts, and a few long articles.
KINDS: tuple[Kind, ...] = (
    Kind("comment", 20, 200, 0.55),
    Kind("post", 500, 3_000, 0.33),
    Kind("article", 5_000, 20_000, 0.12),
)
KIND_BY_NAME = {kind.name: kind for kind in KINDS}


@dataclass(frozen=True)
class Grammar:
    """Phrase lists that compose into sentences: ``time + subject + predicate + ending``."""

    times: tuple[str, ...]
    subjects: tuple[str, ...]
    predicates: tuple[str, ...]
    endings: tuple[str, ...]
    asides: tuple[str, ...]  # whole sentences: questions, opinions, advice
    chatter: tuple[str, ...]  # what comments add: laughter, emoji, thanks
    separator: str  # between the time phrase and the rest
    joiner: str  # between sentences


GRAMMARS: dict[str, Grammar] = {
    "en": Grammar(
        times=(
            "Last weekend",
            "This morning",
            "After a long week",
            "In my experience",
            "Since the last update",
            "Before the meeting",
            "During the winter",
            "On the first day",
            "A few months ago",
            "Every spring",
            "When the store opened",
            "After reading the manual",
        ),
        subjects=(
            "my family",
            "our team",
            "the new library",
            "a local bakery",
            "the city council",
            "my neighbour",
            "the delivery driver",
            "our small shop",
            "the support team",
            "my daughter",
            "the museum staff",
            "a friend of mine",
        ),
        predicates=(
            "tested the new phone for two days",
            "planted tomatoes and basil in the garden",
            "fixed the broken bicycle chain",
            "compared three laptops side by side",
            "walked along the river to the old bridge",
            "answered every question about the refund policy",
            "cooked a simple soup with leftover vegetables",
            "moved the weekly market to the main square",
            "replaced the battery and cleaned the charging port",
            "wrote a short guide for new members",
            "booked a table at the noodle place downtown",
            "measured how long the battery really lasts",
            "painted the fence before the rain came",
            "set up the printer on the office network",
            "read the whole series in one weekend",
            "tried the recipe with brown rice instead of white",
            "checked the train times for the holiday",
            "organised a clean-up of the beach",
            "returned the jacket because the sleeves were too short",
            "recorded a podcast about local history",
        ),
        endings=(
            "without any trouble",
            "for the first time",
            "and it went better than expected",
            "although the instructions were confusing",
            "with help from the forum",
            "in less than an hour",
            "and everyone seemed happy with the result",
            "but the price was higher than advertised",
        ),
        asides=(
            "Has anyone else had the same problem with the app?",
            "I would recommend reading the reviews before you buy.",
            "The staff were friendly and the place was clean.",
            "Please share your tips in the comments below.",
            "To be honest, I expected more from the second season.",
            "The screen is bright enough to read outdoors.",
            "Shipping took four days, which is fine for the price.",
            "Check the official website for the opening hours.",
            "Overall it is good value, but the manual needs work.",
            "Does the warranty cover water damage?",
        ),
        chatter=("lol", "Thanks!", "👍", "Great post!", "haha", "Totally agree.", "😂"),
        separator=", ",
        joiner=" ",
    ),
    "ko": Grammar(
        times=(
            "지난 주말에",
            "오늘 아침에",
            "바쁜 한 주가 끝나고",
            "제 경험으로는",
            "지난 업데이트 이후로",
            "회의 전에",
            "겨울 동안",
            "첫날에",
            "몇 달 전에",
            "매년 봄마다",
            "가게가 문을 열었을 때",
            "설명서를 읽고 나서",
        ),
        subjects=(
            "우리 가족은",
            "저희 팀은",
            "새로 생긴 도서관은",
            "동네 빵집은",
            "시청은",
            "옆집 이웃이",
            "배달 기사님이",
            "저희 작은 가게는",
            "고객센터 직원이",
            "제 딸이",
            "박물관 직원들이",
            "친구 한 명이",
        ),
        predicates=(
            "새 휴대폰을 이틀 동안 써 봤어요",
            "정원에 토마토와 바질을 심었습니다",
            "고장 난 자전거 체인을 고쳤어요",
            "노트북 세 대를 나란히 비교했습니다",
            "강을 따라 오래된 다리까지 걸었어요",
            "환불 정책에 대한 질문에 모두 답해 주었습니다",
            "남은 채소로 간단한 국을 끓였어요",
            "주간 시장을 중앙 광장으로 옮겼습니다",
            "배터리를 교체하고 충전 단자를 청소했어요",
            "신규 회원을 위한 짧은 안내서를 썼습니다",
            "시내 국숫집에 자리를 예약했어요",
            "배터리가 실제로 얼마나 가는지 측정했습니다",
            "비가 오기 전에 울타리를 칠했어요",
            "사무실 네트워크에 프린터를 설치했습니다",
            "주말 동안 시리즈 전체를 다 읽었어요",
            "흰쌀 대신 현미로 레시피를 따라 해 봤습니다",
            "연휴 기차 시간을 확인했어요",
            "해변 청소 행사를 준비했습니다",
            "소매가 짧아서 재킷을 반품했어요",
            "지역 역사에 관한 팟캐스트를 녹음했습니다",
        ),
        endings=(
            "별 문제 없이",
            "처음으로",
            "생각보다 훨씬 잘",
            "설명서가 헷갈렸지만",
            "커뮤니티의 도움을 받아",
            "한 시간도 안 걸려서",
            "모두가 만족할 만큼",
            "광고보다 비쌌지만",
        ),
        asides=(
            "혹시 앱에서 같은 문제를 겪으신 분 계신가요?",
            "구매하기 전에 후기를 꼭 읽어 보시길 추천합니다.",
            "직원들이 친절하고 매장도 깨끗했어요.",
            "아래 댓글로 여러분의 팁을 공유해 주세요.",
            "솔직히 두 번째 시즌은 기대보다 아쉬웠어요.",
            "화면이 밝아서 야외에서도 잘 보입니다.",
            "배송은 나흘 걸렸는데 가격을 생각하면 괜찮아요.",
            "영업시간은 공식 홈페이지에서 확인하세요.",
            "전체적으로 가성비는 좋은데 설명서는 개선이 필요해요.",
            "침수도 보증이 되나요?",
        ),
        chatter=("ㅋㅋㅋ", "감사합니다!", "👍", "좋은 글이네요!", "ㅎㅎ", "완전 공감해요.", "ㅠㅠ"),
        separator=" ",
        joiner=" ",
    ),
    "ja": Grammar(
        times=(
            "先週末、",
            "今朝、",
            "忙しい一週間の後で、",
            "私の経験では、",
            "前回のアップデート以来、",
            "会議の前に、",
            "冬の間、",
            "初日に、",
            "数か月前、",
            "毎年春になると、",
            "お店が開店したとき、",
            "説明書を読んでから、",
        ),
        subjects=(
            "家族と私は",
            "私たちのチームは",
            "新しい図書館は",
            "近所のパン屋さんは",
            "市役所は",
            "隣の人が",
            "配達員さんが",
            "うちの小さな店は",
            "サポート担当の方が",
            "娘が",
            "博物館のスタッフが",
            "友達の一人が",
        ),
        predicates=(
            "新しいスマホを二日間試しました",
            "庭にトマトとバジルを植えました",
            "壊れた自転車のチェーンを直しました",
            "ノートパソコンを三台並べて比べました",
            "川沿いを古い橋まで歩きました",
            "返金ポリシーについての質問に全部答えてくれました",
            "残り物の野菜で簡単なスープを作りました",
            "週末の市場を中央広場に移しました",
            "バッテリーを交換して充電端子を掃除しました",
            "新しいメンバー向けの短いガイドを書きました",
            "駅前のラーメン屋を予約しました",
            "バッテリーが実際にどれくらい持つか測りました",
            "雨が降る前にフェンスを塗りました",
            "事務所のネットワークにプリンターを設定しました",
            "週末にシリーズを全部読みました",
            "白米の代わりに玄米でレシピを試しました",
            "連休の電車の時刻を調べました",
            "海岸の清掃活動を企画しました",
            "袖が短かったのでジャケットを返品しました",
            "地元の歴史についてポッドキャストを収録しました",
        ),
        endings=(
            "特に問題もなく",
            "初めて",
            "思ったよりずっとうまく",
            "説明書は分かりにくかったけれど",
            "フォーラムの助けを借りて",
            "一時間もかからずに",
            "みんなが満足するくらい",
            "広告より高かったけれど",
        ),
        asides=(
            "アプリで同じ問題が起きた方はいますか？",
            "買う前にレビューを読むことをおすすめします。",
            "店員さんは親切で、お店も清潔でした。",
            "コメント欄でコツを教えてください。",
            "正直、第二シーズンは期待したほどではありませんでした。",
            "画面が明るいので屋外でも読めます。",
            "配送に四日かかりましたが、この値段なら十分です。",
            "営業時間は公式サイトで確認してください。",
            "全体的にコスパは良いですが、説明書は改善が必要です。",
            "水濡れは保証の対象になりますか？",
        ),
        chatter=(
            "www",
            "ありがとうございます！",
            "👍",
            "いい記事ですね！",
            "（笑）",
            "同感です。",
            "😂",
        ),
        separator="",
        joiner="",
    ),
    "zh": Grammar(
        times=(
            "上个周末，",
            "今天早上，",
            "忙了一周之后，",
            "根据我的经验，",
            "自从上次更新以后，",
            "开会之前，",
            "整个冬天，",
            "第一天，",
            "几个月前，",
            "每年春天，",
            "商店开业的时候，",
            "看完说明书以后，",
        ),
        subjects=(
            "我和家人",
            "我们团队",
            "新开的图书馆",
            "附近的面包店",
            "市政府",
            "我的邻居",
            "快递小哥",
            "我们的小店",
            "客服人员",
            "我女儿",
            "博物馆的工作人员",
            "我的一个朋友",
        ),
        predicates=(
            "试用了两天新手机",
            "在花园里种了番茄和罗勒",
            "修好了坏掉的自行车链条",
            "把三台笔记本电脑放在一起比较",
            "沿着河边一直走到老桥",
            "回答了所有关于退款政策的问题",
            "用剩下的蔬菜煮了一锅简单的汤",
            "把每周的集市搬到了中心广场",
            "更换了电池并清理了充电口",
            "给新成员写了一份简短的指南",
            "在市中心的面馆订了位子",
            "测量了电池实际能用多久",
            "在下雨之前把篱笆刷好了漆",
            "在办公室网络上设置了打印机",
            "一个周末就把整套书看完了",
            "用糙米代替白米试了这个食谱",
            "查了假期的火车时刻表",
            "组织了一次海滩清洁活动",
            "因为袖子太短退回了夹克",
            "录了一期关于本地历史的播客",
        ),
        endings=(
            "没遇到什么麻烦",
            "第一次",
            "比预想的顺利得多",
            "虽然说明书有点难懂",
            "在论坛网友的帮助下",
            "不到一个小时",
            "大家都很满意",
            "虽然价格比广告上的高",
        ),
        asides=(
            "有没有人在应用里遇到过同样的问题？",
            "建议购买之前先看看评价。",
            "店员很热情，店里也很干净。",
            "欢迎在下面的评论里分享你的经验。",
            "说实话，第二季没有我期待的那么好。",
            "屏幕很亮，在户外也能看清楚。",
            "快递用了四天，这个价格可以接受。",
            "营业时间请以官方网站为准。",
            "总体来说性价比不错，但说明书需要改进。",
            "进水损坏在保修范围内吗？",
        ),
        chatter=("哈哈哈", "谢谢！", "👍", "写得真好！", "赞", "完全同意。", "😂"),
        separator="",
        joiner="",
    ),
}

_SENTENCE_END = {"en": ".", "ko": ".", "ja": "。", "zh": "。"}


@dataclass(frozen=True)
class CorpusItem:
    """One piece of benchmark content; ``language`` and ``kind`` are what it was made as."""

    id: str
    language: str
    kind: str
    text: str

    def as_content_item(self, with_hint: bool = False) -> dict[str, Any]:
        """A ``ContentItem`` mapping; no language hint by default, so detection runs."""
        item: dict[str, Any] = {"id": self.id, "text": self.text, "content_type": self.kind}
        if with_hint:
            item["language"] = self.language
        return item


def sentence(rng: random.Random, language: str) -> str:
    grammar = GRAMMARS[language]
    if rng.random() < 0.2:
        return rng.choice(grammar.asides)
    time_phrase = rng.choice(grammar.times)
    subject = rng.choice(grammar.subjects)
    predicate = rng.choice(grammar.predicates)
    ending = rng.choice(grammar.endings)
    end = _SENTENCE_END[language]
    if language == "en":
        return f"{time_phrase}{grammar.separator}{subject} {predicate} {ending}{end}"
    if language == "ko":
        # Korean puts the adverbial before the verb phrase: "... 별 문제 없이 고쳤어요."
        return f"{time_phrase} {subject} {ending} {predicate}{end}"
    return f"{time_phrase}{subject}{ending}{predicate}{end}"


def text_of_length(rng: random.Random, language: str, target_chars: int, kind: str) -> str:
    """Sentences, in paragraphs for long text, up to about ``target_chars`` characters."""
    grammar = GRAMMARS[language]
    paragraphs: list[str] = []
    current: list[str] = []
    length = 0
    per_paragraph = rng.randint(3, 7)
    while length < target_chars:
        piece = sentence(rng, language)
        if kind == "comment" and rng.random() < 0.3:
            piece = f"{piece} {rng.choice(grammar.chatter)}"
        current.append(piece)
        length += len(piece) + len(grammar.joiner)
        if len(current) >= per_paragraph:
            paragraphs.append(grammar.joiner.join(current))
            current, per_paragraph = [], rng.randint(3, 7)
            length += 2
    if current:
        paragraphs.append(grammar.joiner.join(current))
    return "\n\n".join(paragraphs)


def make_item(rng: random.Random, item_id: str, language: str, kind: Kind) -> CorpusItem:
    # Lengths are log-uniform in the kind's range: many short items, a long tail.
    log_low, log_high = math.log(kind.min_chars), math.log(kind.max_chars)
    target = round(math.exp(rng.uniform(log_low, log_high)))
    text = text_of_length(rng, language, target, kind.name)[: kind.max_chars].rstrip()
    return CorpusItem(id=item_id, language=language, kind=kind.name, text=text)


def generate(
    count: int,
    seed: int = SCORING_SEED,
    languages: Sequence[str] = LANGUAGES,
    kinds: Sequence[Kind] = KINDS,
) -> list[CorpusItem]:
    """``count`` items in arrival order: languages even, kinds by their share, seeded."""
    rng = random.Random(seed)
    weights = [kind.share for kind in kinds]
    items = []
    for index in range(count):
        language = languages[index % len(languages)]
        kind = rng.choices(kinds, weights=weights)[0]
        items.append(make_item(rng, f"bench-{seed}-{index:05d}", language, kind))
    # Arrival order mixes languages and kinds, as a CMS queue would.
    rng.shuffle(items)
    return items


def scoring_items() -> list[CorpusItem]:
    """The fixed set of 512 items the scoring benchmark is defined on."""
    return generate(SCORING_ITEM_COUNT, SCORING_SEED)


def text_of_bytes(language: str, size_bytes: int, seed: int = SCORING_SEED) -> str:
    """Prose of about ``size_bytes`` UTF-8 bytes (never more), for per-size measurements."""
    rng = random.Random(f"{seed}-{language}-{size_bytes}")
    joiner = GRAMMARS[language].joiner
    paragraphs: list[list[str]] = [[]]
    size = 0
    while True:
        piece = sentence(rng, language)
        starts_paragraph = len(paragraphs[-1]) == 5
        separator = "\n\n" if starts_paragraph else (joiner if paragraphs[-1] else "")
        extra = len((separator + piece).encode("utf-8"))
        if size + extra > size_bytes:
            break
        if starts_paragraph:
            paragraphs.append([])
        paragraphs[-1].append(piece)
        size += extra
    return "\n\n".join(joiner.join(paragraph) for paragraph in paragraphs)
