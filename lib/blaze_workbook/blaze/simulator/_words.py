"""Word lists the simulator draws names, places and products from (all invented)."""

from __future__ import annotations

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty "
    "Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua "
    "Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald "
    "Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy Jacob Amy Gary Kathleen "
    "Nicholas Angela Eric Shirley Jonathan Emma Stephen Brenda Larry Pamela Justin Nicole Scott "
    "Anna Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel "
    "Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry Helen Tyler "
    "Catherine Aaron Diane Jose Julie Adam Victoria Nathan Joyce Henry Lauren Zachary Kelly "
    "Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy Evelyn Christian "
    "Hannah Walter Andrea Keith Megan Austin Cheryl Roger Jacqueline Terry Madison Sean Teresa "
    "Gerald Abigail Carl Sophia Dylan Martha Harold Sara Jordan Gloria Jesse Janice Bryan Kathryn "
    "Lawrence Ann Arthur Isabella Gabriel Judy Bruce Charlotte Logan Julia Billy Grace Joe Amber "
    "Alan Alice Juan Jean Elijah Denise Willie Frances Albert Danielle Wayne Marilyn Randy Natalie "
    "Mason Beverly Vincent Diana Liam Brittany Roy Theresa Bobby Kayla Caleb Alexis Bradley Doris "
    "Russell Lori Lucas Tiffany Riley Avery Quinn Rowan Skyler Jamie Casey Morgan Taylor"
).split()

#: names that an earlier encoding error damaged (UTF-8 read as Latin-1), and their originals
MOJIBAKE = {
    "José": "JosÃ©",
    "Zoë": "ZoÃ«",
    "Muñoz": "MuÃ±oz",
    "Peña": "PeÃ±a",
    "René": "RenÃ©",
    "Chloé": "ChloÃ©",
    "Ibáñez": "IbÃ¡Ã±ez",
    "Désirée": "DÃ©sirÃ©e",
}

LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell "
    "Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson "
    "Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera "
    "Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez "
    "McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns "
    "Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt "
    "Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer"
).split()

EMOJI = ("🌿", "✨", "🔥", "😊", "🍀", "💚", "🌸", "👑")

CITIES = (
    ("Los Angeles", "900"), ("Long Beach", "908"), ("Pasadena", "911"), ("Glendale", "912"),
    ("Burbank", "915"), ("Santa Monica", "904"), ("Torrance", "905"), ("Inglewood", "903"),
    ("Van Nuys", "914"), ("Culver City", "902"), ("Whittier", "906"), ("Downey", "902"),
    ("Norwalk", "906"), ("Compton", "902"), ("West Hollywood", "900"), ("Alhambra", "918"),
)
STREETS = (
    "MAIN ST", "OAK AVE", "MAPLE DR", "SUNSET BLVD", "PICO BLVD", "VENICE BLVD", "ELM ST",
    "CEDAR LN", "HIGHLAND AVE", "VERMONT AVE", "WESTERN AVE", "FIGUEROA ST", "OLYMPIC BLVD",
    "LINCOLN BLVD", "ROSECRANS AVE", "PACIFIC COAST HWY", "LA BREA AVE", "MELROSE AVE",
)
AREA_CODES = (213, 310, 323, 424, 562, 626, 661, 714, 747, 818, 909, 949)
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "icloud.com", "hotmail.com", "outlook.com", "aol.com")
MARKETING_SOURCES = ("", "", "", "", "Walk-in", "Google", "Weedmaps", "Referral", "Instagram", "Leafly")

MEMBER_GROUPS = (
    ("Adult-Use", 0, True), ("Medical", 1000, False), ("Veterans", 1500, False),
    ("Seniors", 1000, False), ("Industry", 2000, False), ("Employees", 3000, False),
)

#: (name, unitType, cannabis, cannabisType, wmCategory)
CATEGORIES = (
    ("Flower", "grams", True, "DRY_FLOWER", "FLOWER"),
    ("Pre-Rolls", "units", True, "PRE_ROLL", "PREROLLS"),
    ("Vapes", "units", True, "CONCENTRATE", "VAPE_PENS"),
    ("Edibles", "units", True, "EDIBLE", "EDIBLES"),
    ("Concentrates", "grams", True, "CONCENTRATE", "CONCENTRATES"),
    ("Flower PrePacks", "units", True, "DRY_FLOWER", "FLOWER"),
    ("Tinctures", "units", True, "LIQUID", "TINCTURES"),
    ("Topicals", "units", True, "NON_CONCENTRATE", "TOPICALS"),
    ("Accessories", "units", False, "NON_CANNABIS", "GEAR"),
    ("Beverages", "units", True, "LIQUID", "DRINKS"),
    ("Shake", "grams", True, "DRY_FLOWER", "FLOWER"),
    ("Infused Pre-Rolls", "units", True, "PRE_ROLL", "PREROLLS"),
    ("Capsules", "units", True, "NON_CONCENTRATE", "EDIBLES"),
    ("Apparel", "units", False, "NON_CANNABIS", "GEAR"),
    ("CBD", "units", True, "CBD", "CBD"),
    ("Batteries", "units", False, "NON_CANNABIS", "GEAR"),
    ("Clones", "units", True, "CLONE", "SEEDS"),
    ("Gift Cards", "units", False, "NON_CANNABIS", "OTHER"),
)

BRAND_WORDS = (
    "Mota Kiva Wyld Stiiizy PlugPlay Raw Garden Dime Bag Heavy Hitters Glass House Jeeter Cookies "
    "Alien Labs Connected Select Kanha Plus Camino Papa Barkley Lowell Farms Old Pal Pacific Stone "
    "Sluggers Almora Cannabiotix Lime Punch Edie Wonderbrett Kushy Punch Fig Farms Emerald Sky "
    "Coastal Sun Canyon Roots Golden State Blue River Sierra Gold Desert Bloom Redwood Canopy"
).split()
STRAINS = (
    "Blue Dream", "OG Kush", "Sour Diesel", "Girl Scout Cookies", "Gelato", "Wedding Cake",
    "Runtz", "Zkittlez", "Lemon Cherry Gelato", "Rainbow Runtz", "Kali Mist", "Sugar Daddy Purple",
    "Jack Herer", "Granddaddy Purple", "Pineapple Express", "Gorilla Glue", "Durban Poison",
    "Northern Lights", "Ice Cream Cake", "Tropicana Cookies", "Cherry Pie", "Apple Fritter",
    "Mimosa", "Purple Punch", "Forest Berry", "Pomegranate", "Mango Haze", "Strawberry Cough",
)
FORMS = {
    "Flower": ("Flwr", ""), "Pre-Rolls": ("Pre-Roll 1g", "Pre-Rolls 2.5g (5pk)"),
    "Vapes": ("1g Vape", "0.5g Cart"), "Edibles": ("Gummies (10pc)", "Fruit Chews (10mg x 10pc)"),
    "Concentrates": ("Live Resin", "Badder"), "Flower PrePacks": ("8th", "Quarter"),
    "Tinctures": ("Tincture 30ml", "Drops 1:1"), "Topicals": ("Balm", "Lotion 2oz"),
    "Accessories": ("Grinder", "Rolling Papers"), "Beverages": ("Seltzer 12oz", "Tonic"),
    "Shake": ("Shake", "Smalls"), "Infused Pre-Rolls": ("Infused 1g", "Diamond Infused"),
    "Capsules": ("Capsules (20ct)", "Softgels"), "Apparel": ("T-Shirt", "Hat"),
    "CBD": ("CBD Gummies", "CBD 1:1 Tincture"), "Batteries": ("510 Battery", "Pod Battery"),
    "Clones": ("Clone", "Teen Plant"), "Gift Cards": ("Gift Card $25", "Gift Card $50"),
}
DESCRIPTIONS = (
    "",
    "",
    "A balanced, flavourful selection grown in small batches and hand trimmed. Expect a smooth "
    "smoke, a bright citrus nose and a calm, steady finish. Lab tested for potency and purity.",
    "Crafted for consistency: every batch is tested, labelled with its cannabinoid profile and "
    "sealed for freshness. Start low and go slow; effects may take up to two hours with edibles. "
    "Keep out of reach of children and pets. For use only by adults 21 and older.",
    "Sun-grown on the coast and slow cured for 21 days. Dense buds, sticky trichomes and notes "
    "of berries, pine and a hint of diesel. Pairs well with a quiet evening or a long hike.",
)
EMPLOYEE_ROLES = ("Budtender", "Manager", "Shop Manager", "Inventory", "Admin")
TERMINAL_NAMES = ("CASH REGISTER", "REGISTER 2", "REGISTER 3", "EXPRESS", "DELIVERY IPAD", "KIOSK")
INVENTORY_NAMES = (("Safe", "Storage"), ("Sales Floor", "Field"), ("Quarantine", "Quarantine"))
