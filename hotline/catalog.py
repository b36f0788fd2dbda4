"""The operator's product catalogue: plans, data add-ons and roaming rates.

One source of truth for the seed and the actions; prices in pence.
"""

from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class PlanSpec:
    code: str
    name: str
    kind: str
    monthly_price_pence: int
    data_gb: int | None
    minutes: int | None
    speed_mbps: int | None
    five_g: bool
    eu_roaming_included: bool
    description: str


PLANS = (
    PlanSpec("STARTER", "Starter", "mobile", 1000, 5, 500, None, False, False,
             "5GB data, 500 minutes, unlimited texts, 4G"),
    PlanSpec("ESSENTIAL", "Essential", "mobile", 1800, 25, None, None, True, True,
             "25GB data, unlimited minutes and texts, 5G, EU roaming included"),
    PlanSpec("UNLIMITED", "Unlimited", "mobile", 3000, None, None, None, True, True,
             "Unlimited data, minutes and texts, 5G, EU roaming included"),
    PlanSpec("UNLIMITED_PLUS", "Unlimited Plus", "mobile", 4200, None, None, None, True, True,
             "Unlimited everything, 5G, EU roaming included, half-price World day passes"),
    PlanSpec("FIBRE_150", "Fibre 150", "broadband", 2800, None, None, 150, False, False,
             "Home fibre broadband, 150 Mbps average download, router included"),
    PlanSpec("FIBRE_500", "Fibre 500", "broadband", 3800, None, None, 500, False, False,
             "Home fibre broadband, 500 Mbps average download, Wi-Fi 6 router included"),
)


@dataclass(frozen=True)
class DataAddon:
    data_gb: int
    price_pence: int

    @property
    def name(self) -> str:
        return f"{self.data_gb}GB Boost"


DATA_ADDONS = (DataAddon(1, 300), DataAddon(5, 800), DataAddon(20, 1500))

# Roaming zones: day-pass prices per zone (Europe is included on most plans).
ZONE_PRICES = {
    # zone: (day pass, per MB, per minute, per text)
    "europe": (250, 10, 15, 8),
    "world1": (600, 50, 120, 30),
    "world2": (900, 150, 200, 40),
}

ROAMING_COUNTRIES = {
    "europe": {
        "France": "", "Spain": "", "Italy": "", "Germany": "", "Portugal": "",
        "Greece": "", "Netherlands": "holland,the netherlands", "Ireland": "eire",
        "Belgium": "", "Austria": "", "Switzerland": "", "Poland": "", "Sweden": "",
        "Norway": "", "Denmark": "", "Croatia": "", "Czech Republic": "czechia",
        "Iceland": "", "Malta": "", "Cyprus": "",
    },
    "world1": {
        "United States": "usa,us,u.s.,the us,the usa,the states,america,united states of america",
        "Canada": "", "Australia": "oz", "New Zealand": "nz", "Japan": "",
        "South Korea": "korea", "Singapore": "", "Mexico": "",
        "United Arab Emirates": "uae,dubai,abu dhabi", "Turkey": "turkiye",
    },
    "world2": {
        "India": "", "Thailand": "", "Brazil": "", "South Africa": "", "China": "",
        "Egypt": "", "Kenya": "", "Argentina": "", "Vietnam": "", "Indonesia": "bali",
        "Philippines": "", "Morocco": "", "Peru": "", "Sri Lanka": "",
    },
}

LATE_FEE_PENCE = 500
