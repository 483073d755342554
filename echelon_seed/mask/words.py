"""The word lists the realistic fakes draw from: short, invented for echelon-seed, in a fixed order.

The names are made up on purpose (Aldren Quillby, not John Smith): a fake that
equals a real person's value in the original data would be reported by the
leak check, so the lists avoid the names most often found in real tables.
The order is part of the masked output: appending keeps it, reordering or
removing changes every fake (say so in the changelog).
"""

from __future__ import annotations

__all__ = ["CITIES", "COMPANY_HEADS", "COMPANY_TAILS", "DOMAINS", "FIRST", "LAST", "LOREM", "STREETS", "STREET_KINDS"]

FIRST = (
    "Aldren", "Brisel", "Caspira", "Dovren", "Elowis", "Faramund", "Gwenneth", "Halvard", "Isolind", "Jorvik",
    "Kestrel", "Lunara", "Maelis", "Norwen", "Orlaith", "Peregrin", "Quenby", "Rosmund", "Saffria", "Tamrin",
    "Ulvira", "Valdric", "Wrenna", "Xandor", "Yselde", "Zephran", "Anwick", "Belcaro", "Corisande", "Delwyn",
    "Emberly", "Fenwick", "Galen", "Hesper", "Ilvane", "Jessamy", "Korrin", "Liesl", "Mordant", "Nerys",
)  # fmt: skip

LAST = (
    "Quillby", "Ashgrove", "Brackwater", "Calloway", "Dunmore", "Eversedge", "Fallowmere", "Greythorn", "Hollins",
    "Ironside", "Juniperwell", "Kettleby", "Larkspur", "Marchbank", "Nettlefold", "Oakhurst", "Pemberthy",
    "Quarrington", "Rookwood", "Stillwater", "Thistlewood", "Underhill", "Vantwick", "Whitlock", "Yarrowby",
    "Zellingham", "Applewhite", "Bramblecote", "Coldharbour", "Drummond", "Elderby", "Foxwell", "Gildersleeve",
    "Hartwell", "Inchcombe", "Jollivet", "Kingsmere", "Lowther", "Moorcroft", "Northam",
)  # fmt: skip

CITIES = (
    "Ashbourne Vale", "Brindlemoor", "Carrowdale", "Dunmerrow", "Eastwick Ferry", "Fenhollow", "Glenharrow",
    "Harrowgate Cross", "Ivybridge Mills", "Kelsworth", "Lanterford", "Marrowby", "Northwold", "Orchard Reach",
    "Pellingford", "Quarry Hill", "Ravensholme", "Saltmarsh", "Thornbury Wells", "Upton Meadows", "Varrowfield",
    "Westerleigh", "Yarmouth Cove", "Zennor Heights",
)  # fmt: skip

STREETS = (
    "Alder", "Birch", "Cobble", "Dovecote", "Elmtree", "Fairweather", "Gorse", "Hawthorn", "Juniper", "Kiln",
    "Lantern", "Millrace", "Nightingale", "Orchard", "Pennyroyal", "Quayside", "Rowan", "Sorrel", "Tannery",
    "Willow",
)  # fmt: skip

STREET_KINDS = ("Street", "Lane", "Road", "Row", "Close", "Way", "Avenue", "Crescent")

COMPANY_HEADS = (
    "Amberline", "Bluefen", "Copperleaf", "Driftwood", "Emberstone", "Foxglove", "Granite Peak", "Harborview",
    "Ironbark", "Juniper Ridge", "Kestrel", "Lodestar", "Meridian", "Northgale", "Oakfield", "Pinecrest",
    "Quillon", "Redwater", "Silverbirch", "Tidewell",
)  # fmt: skip

COMPANY_TAILS = ("Labs", "Holdings", "Works", "Partners", "Systems", "Trading", "Collective", "Logistics", "Studio")

#: Reserved for examples (RFC 2606 / RFC 6761): mail to them can never reach anyone.
DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "post.example")

LOREM = (
    "amber", "basalt", "cinder", "drift", "ember", "fallow", "gossamer", "harbor", "inlet", "juniper", "kindle",
    "lumen", "meadow", "nimbus", "obsidian", "pebble", "quarry", "russet", "saffron", "thicket", "umber",
    "verdant", "willow", "yonder", "zephyr", "across", "beneath", "quietly", "toward", "under", "and", "the",
)  # fmt: skip
