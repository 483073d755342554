-- echelon-seed export-sql: project echelon, fixtures sha256:88070e3c7a11b009983c419fae0a80d6ed473489cfd70f33d38b278b43a9ea6f, scale 1
-- Load it with: psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f FILE [-v anchor=2026-11-24T12:00:00Z]
\set ON_ERROR_STOP on
\if :{?anchor}
\else
SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS anchor \gset
\endif
BEGIN;
SET LOCAL client_min_messages = warning;

DO $$
DECLARE found text;
BEGIN
  IF to_regclass('echelon_seed_alembic_version') IS NULL THEN
    RAISE EXCEPTION 'echelon-seed: the database is not migrated (no echelon_seed_alembic_version table); run the migrations first (echelon-seed apply, or alembic upgrade head), or load a script made with --with-schema';
  END IF;
  SELECT max(version_num) INTO found FROM echelon_seed_alembic_version;
  IF found IS DISTINCT FROM '0001' THEN
    RAISE EXCEPTION 'echelon-seed: the database is at schema revision %, the script was made for 0001: migrate the database to that revision, or make the script with the code that matches the database', coalesce(found, 'none');
  END IF;
END $$;

CREATE TABLE IF NOT EXISTS echelon_seed_runs (
	id INTEGER NOT NULL, 
	anchor TIMESTAMP WITH TIME ZONE NOT NULL, 
	fixture_digest VARCHAR(80) NOT NULL, 
	scale INTEGER NOT NULL, 
	tool_version VARCHAR(32) NOT NULL, 
	schema_revision VARCHAR(64) NOT NULL, 
	schema_fingerprint VARCHAR(80) NOT NULL, 
	project VARCHAR(128) NOT NULL, 
	PRIMARY KEY (id)
);

DO $$
DECLARE t text; found boolean;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'agents', 'timelines', 'paradoxes', 'positions', 'price_history', 'timeline_links', 'wing_flaps', 'echelon_seed_runs'] LOOP
    IF to_regclass(quote_ident(t)) IS NOT NULL THEN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t) INTO found;
      IF found THEN
        RAISE EXCEPTION 'echelon-seed: the database already has data (table % is not empty); load the script into an empty database, or reseed with echelon-seed apply --force', t;
      END IF;
    END IF;
  END LOOP;
END $$;

SET CONSTRAINTS ALL DEFERRED;

CREATE TEMP TABLE _echelon_seed_users (LIKE users) ON COMMIT DROP;
ALTER TABLE _echelon_seed_users ALTER COLUMN created_at TYPE text;
COPY _echelon_seed_users (id, username, email, password_hash, tier, balance_usdc, balance_echelon, wallet_address, bio, is_active, created_at) FROM STDIN;
USR_001	DeepStateTrader	deep@echelon.io	$2b$12$dummy_hash_for_testing	pro	15000.00	5000	\N	Reads shipping manifests for fun. Says "the dark fleet never sleeps" — and trades like it.	t	-10368000.000000 seconds
USR_002	MacroMaven	macro@echelon.io	$2b$12$dummy_hash_for_testing	pro	25000.00	8000	\N	Rates, liquidity, and the Fed’s every blink. Don't fight the tape. 📈	t	-9871200.000000 seconds
USR_003	BioHazardBets	bio@echelon.io	$2b$12$dummy_hash_for_testing	free	5000.00	1000	\N	\N	t	-8515200.000000 seconds
USR_004	WhaleHunter	whale@echelon.io	$2b$12$dummy_hash_for_testing	pro	50000.00	15000	\N	I follow the big wallets so you don’t have to. 🐋 Motto: "size is a signal".	t	-7533900.000000 seconds
USR_005	ShadowBroker	shadow@echelon.io	$2b$12$dummy_hash_for_testing	elite	100000.00	25000	\N	Information is the only currency — 情報 is everything. Naïve traders pay my yield.	t	-6387000.000000 seconds
\.

INSERT INTO users (id, username, email, password_hash, tier, balance_usdc, balance_echelon, wallet_address, bio, is_active, created_at)
  SELECT id, username, email, password_hash, tier, balance_usdc, balance_echelon, wallet_address, bio, is_active, CASE WHEN created_at LIKE '%seconds' THEN :'anchor'::timestamptz + created_at::interval ELSE created_at::timestamptz END FROM _echelon_seed_users;

CREATE TEMP TABLE _echelon_seed_agents (LIKE agents) ON COMMIT DROP;
ALTER TABLE _echelon_seed_agents ALTER COLUMN created_at TYPE text;
COPY _echelon_seed_agents (id, name, archetype, tier, level, sanity, max_sanity, owner_id, wallet_address, total_pnl_usd, win_rate, total_trades, genome, motto, is_active, created_at) FROM STDIN;
AGT_ARBITER	ARBITER	DIPLOMAT	1	11	95	100	USR_003	0x47b1e9d3c6a28f05e7d4b1a9c3f62e80d5b7a4c6	5602.50	0.68	34	{"charisma": 0.78, "negotiation": 0.82, "trust": 0.8}	Fair prices, firm hands.	t	-3577500.000000 seconds
AGT_CARDINAL	CARDINAL	SPY	2	16	45	100	USR_002	0x15e8b3f6a0d97c24e1b58f3a6c0d29e7b4f81a63	12450.00	0.71	112	{"intel_quality": 0.75, "network": 0.65, "stealth": 0.9}	I didn’t see anything. Neither did you.	t	-5088600.000000 seconds
AGT_ENVOY	ENVOY	DIPLOMAT	2	15	92	100	USR_001	0xe2c7b85a1f03d96e4b2a7c58f1d0e39b6a4c7f21	8900.25	0.72	56	{"charisma": 0.85, "negotiation": 0.9, "trust": 0.75}	Every timeline deserves a second draft.	t	-3946200.000000 seconds
AGT_HAMMERHEAD	HAMMERHEAD	SHARK	2	14	72	100	USR_003	0xc71d05a9e3b26f84d0a57c1e9b36f2d48e0a6c95	18900.00	0.58	156	{"aggression": 0.78, "patience": 0.3, "risk_tolerance": 0.75}	Wide eyes, wider stops.	t	-5295900.000000 seconds
AGT_LEVIATHAN	LEVIATHAN	WHALE	3	28	95	100	USR_005	0x7e3c91a5d0f48b26e9c7a3d1f05b82e4c6a9d3f7	234000.00	0.65	28	{"capital": 0.98, "market_impact": 0.9, "patience": 0.92}	When I move, the ocean moves with me.	t	-2613600.000000 seconds
AGT_MEGALODON	MEGALODON	SHARK	3	25	78	100	USR_001	0x3f9a1c7e52b04d86a1e9c3b7f20d58e6a4c19b72	45230.50	0.67	234	{"aggression": 0.85, "patience": 0.25, "risk_tolerance": 0.8}	Blood in the water is just "liquidity".	t	-6059700.000000 seconds
AGT_ORACLE	ORACLE	SPY	3	22	92	100	USR_005	0x6a0f93d2b7e54c18f6a3b9d0e27c41f85b6d3e17	89000.00	0.78	201	{"intel_quality": 0.92, "network": 0.88, "stealth": 0.95}	未来 is already priced in — you just can’t read the tape yet. 🔮	t	-4242300.000000 seconds
AGT_PHOENIX	PHOENIX	DIPLOMAT	2	17	90	100	USR_005	0xb5d83f1a7e6c02b9d4f8a1e5c37b06d2f9e4a8c1	32000.00	0.7	89	{"charisma": 0.88, "negotiation": 0.85, "trust": 0.82}	From the ashes of a détente, a better one.	t	-3298800.000000 seconds
AGT_RAVEN	RAVEN	SPY	1	10	88	100	USR_004	0x9d4a62c8f1e07b35a9c2d6e4f08b17a3c5e92d40	8905.50	0.65	78	{"intel_quality": 0.7, "network": 0.58, "stealth": 0.82}	Quoth the raven: "sell the rumour".	t	-4535400.000000 seconds
AGT_SPECTER	SPECTER	SABOTEUR	1	8	55	100	USR_002	0xf08d4b2e6a9c17f3d5b0e8a2c64f91d7b3e5a0c9	-1205.00	0.45	23	{"deception": 0.82, "disruption": 0.75, "escape": 0.6}	You won't see me — only the "ripple".	t	-2727300.000000 seconds
AGT_THRESHER	THRESHER	SHARK	2	18	85	100	USR_002	0x8b2e47d1c09f6a35e7b18d4c62f0a93e5d7b1c08	23400.25	0.62	189	{"aggression": 0.72, "patience": 0.35, "risk_tolerance": 0.68}	One tail-whip, one trade.	t	-5769600.000000 seconds
AGT_VIPER	VIPER	SABOTEUR	2	13	33	100	USR_004	0x2c6e0a4f8b3d71e5c9a2f6b0d48e13c7a5f9b2d8	-3400.00	0.42	67	{"deception": 0.95, "disruption": 0.85, "escape": 0.7}	Stability is a rumour I’m happy to disprove. 🐍	t	-3009300.000000 seconds
\.

INSERT INTO agents (id, name, archetype, tier, level, sanity, max_sanity, owner_id, wallet_address, total_pnl_usd, win_rate, total_trades, genome, motto, is_active, created_at)
  SELECT id, name, archetype, tier, level, sanity, max_sanity, owner_id, wallet_address, total_pnl_usd, win_rate, total_trades, genome, motto, is_active, CASE WHEN created_at LIKE '%seconds' THEN :'anchor'::timestamptz + created_at::interval ELSE created_at::timestamptz END FROM _echelon_seed_agents;

CREATE TEMP TABLE _echelon_seed_timelines (LIKE timelines) ON COMMIT DROP;
ALTER TABLE _echelon_seed_timelines ALTER COLUMN created_at TYPE text;
COPY _echelon_seed_timelines (id, name, narrative, keywords, stability, surface_tension, price_yes, price_no, osint_alignment, logic_gap, gravity_score, total_volume_usd, liquidity_depth_usd, active_agent_count, decay_rate_per_hour, founder_id, founder_yield_rate, has_active_paradox, created_at) FROM STDIN;
TL_ANTARCTIC_SHELF	Antarctic Ice Shelf Event	What if a Thwaites-sized ice shelf calves in one afternoon and sea-level models are rewritten overnight? Insurers, ports and shipping lanes — Hormuz included — suddenly price a faster future. 🧊	["antarctica", "ice shelf", "climate", "sea level", "thwaites", "insurance"]	52.7	48.0	0.44	0.56	56.0	0.31	68.4	67000.00	22000.00	14	1.5	USR_003	0.002	f	-3828900.000000 seconds
TL_APPLE_AI_PIVOT	Apple AI Strategy Pivot	What if Apple abandons its in-house models and licenses a rival’s AI for every iPhone? Cupertino's “privacy first” story meets the reality of a partner it doesn’t control. 🍎	["apple", "ai", "iphone", "siri", "licensing", "smartphones"]	55.1	52.0	0.58	0.42	82.0	0.15	72.6	145000.00	48000.00	22	1.5	USR_001	0.002	f	-4456800.000000 seconds
TL_ETH_ETF	Ethereum ETF Approval	What if regulators approve a staking-enabled Ethereum ETF in one surprise filing? Institutional money floods in, and "ultrasound money" stops being a meme.	["ethereum", "etf", "sec", "crypto", "staking", "institutional"]	48.5	45.0	0.81	0.19	91.0	0.08	88.9	680000.00	220000.00	52	1.0	USR_005	0.001	f	-5960700.000000 seconds
TL_FED_PIVOT	Fed Pivot January 2026	What if the Fed cuts rates at its January 2026 meeting and the statement drops the word "patient" entirely? Bonds rally, the dollar slides, and risk assets price in a whole new cycle.	["fed", "interest rates", "fomc", "inflation", "treasuries", "dollar"]	67.2	71.0	0.72	0.28	68.0	0.12	92.1	520000.00	180000.00	45	1.0	USR_002	0.0015	f	-5573700.000000 seconds
TL_GHOST_TANKER	Ghost Tanker - Venezuela Dark Fleet	What if a “ghost” tanker slipping out of Venezuela’s dark fleet goes silent mid-Atlantic, its transponder spoofing a port it never reached? Insurers, navies and sanctions desks all ask the same question: "where is the oil?"	["tanker", "venezuela", "oil", "sanctions", "shipping", "dark fleet"]	45.2	52.0	0.67	0.33	35.0	0.32	84.5	125000.00	45000.00	18	2.5	USR_001	0.002	t	-5020800.000000 seconds
TL_HORMUZ_CHOKEPOINT	Hormuz Strait Chokepoint	What if the Strait of Hormuz — the world’s “chokepoint” — is closed to tanker traffic for a week? A fifth of seaborne oil reroutes or waits, and every timeline touching energy feels the squeeze. ⚓	["hormuz", "strait", "oil", "iran", "shipping", "navy"]	91.5	88.0	0.41	0.59	52.0	0.11	78.3	340000.00	125000.00	32	1.0	USR_005	0.001	f	-6165000.000000 seconds
TL_NVIDIA_EARNINGS	NVIDIA Q4 Earnings Shock	What if NVIDIA’s Q4 data-center revenue misses guidance for the first time in years? The AI trade wobbles, and every chip supplier from Taiwan to 東京 re-prices overnight.	["nvidia", "earnings", "gpu", "semiconductors", "ai", "data center"]	58.5	62.0	0.23	0.77	78.0	0.18	86.4	180000.00	65000.00	28	1.5	USR_003	0.002	f	-4132200.000000 seconds
TL_OPENAI_EXODUS	OpenAI Exodus Event	What if a wave of senior OpenAI researchers resigns in a single week, posting only "it's time"? Rivals scramble to hire, and the market asks who is left to ship the next model.	["openai", "ai", "talent", "resignations", "startups", "llm"]	63.3	58.0	0.35	0.65	71.0	0.22	79.8	95000.00	32000.00	19	1.5	USR_004	0.002	f	-3641100.000000 seconds
TL_TEHRAN_BLACKOUT	Tehran Blackout Protocol	What if Tehran’s grid goes dark for seventy-two hours and nobody will say whether it was a cyberattack, sabotage or a naïve maintenance error? The blackout spreads from power to banking to the oil ministry's export schedule.	["tehran", "iran", "blackout", "power grid", "cyberattack", "sanctions"]	28.5	22.0	0.52	0.48	38.0	0.45	91.2	89000.00	28000.00	24	5.0	USR_002	0.003	t	-4813500.000000 seconds
TL_TETHER_COLLAPSE	Tether Stability Crisis	What if Tether breaks its peg and redemptions freeze for forty-eight hours? Exchanges halt withdrawals, stablecoin pairs unravel, and the whole of crypto asks what "backed" really meant.	["tether", "usdt", "stablecoin", "depeg", "crypto", "redemptions"]	23.4	18.0	0.12	0.88	67.0	0.55	95.2	890000.00	280000.00	67	8.0	USR_004	0.003	t	-6862800.000000 seconds
\.

INSERT INTO timelines (id, name, narrative, keywords, stability, surface_tension, price_yes, price_no, osint_alignment, logic_gap, gravity_score, total_volume_usd, liquidity_depth_usd, active_agent_count, decay_rate_per_hour, founder_id, founder_yield_rate, has_active_paradox, created_at)
  SELECT id, name, narrative, keywords, stability, surface_tension, price_yes, price_no, osint_alignment, logic_gap, gravity_score, total_volume_usd, liquidity_depth_usd, active_agent_count, decay_rate_per_hour, founder_id, founder_yield_rate, has_active_paradox, CASE WHEN created_at LIKE '%seconds' THEN :'anchor'::timestamptz + created_at::interval ELSE created_at::timestamptz END FROM _echelon_seed_timelines;

CREATE TEMP TABLE _echelon_seed_paradoxes (LIKE paradoxes) ON COMMIT DROP;
ALTER TABLE _echelon_seed_paradoxes ALTER COLUMN spawned_at TYPE text;
ALTER TABLE _echelon_seed_paradoxes ALTER COLUMN detonation_time TYPE text;
COPY _echelon_seed_paradoxes (id, timeline_id, status, severity, logic_gap, spawned_at, detonation_time, decay_multiplier, extraction_cost_usdc, extraction_cost_echelon, carrier_sanity_cost) FROM STDIN;
PARADOX_GHOST_001	TL_GHOST_TANKER	ACTIVE	CLASS_3_MODERATE	0.32	-14400.000000 seconds	28800.000000 seconds	2.5	450.00	135	18
PARADOX_TEHRAN_001	TL_TEHRAN_BLACKOUT	ACTIVE	CLASS_2_SEVERE	0.45	-10800.000000 seconds	18000.000000 seconds	5.0	820.00	245	28
PARADOX_TETHER_001	TL_TETHER_COLLAPSE	ACTIVE	CLASS_1_CRITICAL	0.55	-21600.000000 seconds	7200.000000 seconds	8.0	1850.00	555	45
\.

INSERT INTO paradoxes (id, timeline_id, status, severity, logic_gap, spawned_at, detonation_time, decay_multiplier, extraction_cost_usdc, extraction_cost_echelon, carrier_sanity_cost)
  SELECT id, timeline_id, status, severity, logic_gap, CASE WHEN spawned_at LIKE '%seconds' THEN :'anchor'::timestamptz + spawned_at::interval ELSE spawned_at::timestamptz END, CASE WHEN detonation_time LIKE '%seconds' THEN :'anchor'::timestamptz + detonation_time::interval ELSE detonation_time::timestamptz END, decay_multiplier, extraction_cost_usdc, extraction_cost_echelon, carrier_sanity_cost FROM _echelon_seed_paradoxes;

CREATE TEMP TABLE _echelon_seed_positions (LIKE positions) ON COMMIT DROP;
ALTER TABLE _echelon_seed_positions ALTER COLUMN created_at TYPE text;
COPY _echelon_seed_positions (id, user_id, timeline_id, side, shard_count, average_entry_price, is_founder, founder_yield_earned_usd, created_at) FROM STDIN;
POS_USR_001_TL_APPLE_AI_PIVOT	USR_001	TL_APPLE_AI_PIVOT	YES	200	0.48	t	45.20	-834000.000000 seconds
POS_USR_001_TL_GHOST_TANKER	USR_001	TL_GHOST_TANKER	YES	450	0.52	t	125.40	-1483800.000000 seconds
POS_USR_001_TL_TEHRAN_BLACKOUT	USR_001	TL_TEHRAN_BLACKOUT	NO	300	0.42	f	0.00	-1070700.000000 seconds
POS_USR_002_TL_FED_PIVOT	USR_002	TL_FED_PIVOT	YES	1200	0.65	t	450.00	-1649100.000000 seconds
POS_USR_002_TL_NVIDIA_EARNINGS	USR_002	TL_NVIDIA_EARNINGS	NO	800	0.72	f	0.00	-592500.000000 seconds
POS_USR_003_TL_ANTARCTIC_SHELF	USR_003	TL_ANTARCTIC_SHELF	YES	350	0.38	t	28.50	-1232100.000000 seconds
POS_USR_003_TL_TETHER_COLLAPSE	USR_003	TL_TETHER_COLLAPSE	YES	500	0.08	f	0.00	-301800.000000 seconds
POS_USR_004_TL_ETH_ETF	USR_004	TL_ETH_ETF	YES	2500	0.72	f	0.00	-696600.000000 seconds
POS_USR_004_TL_TETHER_COLLAPSE	USR_004	TL_TETHER_COLLAPSE	NO	1800	0.82	t	320.00	-1605300.000000 seconds
POS_USR_005_TL_ETH_ETF	USR_005	TL_ETH_ETF	YES	5000	0.68	t	1250.00	-1327500.000000 seconds
POS_USR_005_TL_HORMUZ_CHOKEPOINT	USR_005	TL_HORMUZ_CHOKEPOINT	NO	3000	0.52	t	890.00	-1462800.000000 seconds
POS_USR_005_TL_OPENAI_EXODUS	USR_005	TL_OPENAI_EXODUS	NO	1500	0.58	f	0.00	-95400.000000 seconds
\.

INSERT INTO positions (id, user_id, timeline_id, side, shard_count, average_entry_price, is_founder, founder_yield_earned_usd, created_at)
  SELECT id, user_id, timeline_id, side, shard_count, average_entry_price, is_founder, founder_yield_earned_usd, CASE WHEN created_at LIKE '%seconds' THEN :'anchor'::timestamptz + created_at::interval ELSE created_at::timestamptz END FROM _echelon_seed_positions;

CREATE TEMP TABLE _echelon_seed_price_history (LIKE price_history) ON COMMIT DROP;
ALTER TABLE _echelon_seed_price_history ALTER COLUMN ts TYPE text;
COPY _echelon_seed_price_history (timeline_id, ts, price_yes, price_no, volume_usd) FROM STDIN;
TL_ANTARCTIC_SHELF	0.000000 seconds	0.44	0.56	10403.42
TL_ANTARCTIC_SHELF	-3600.000000 seconds	0.436	0.564	18365.77
TL_ANTARCTIC_SHELF	-7200.000000 seconds	0.4427	0.5573	2173.61
TL_ANTARCTIC_SHELF	-10800.000000 seconds	0.4369	0.5631	11331.70
TL_APPLE_AI_PIVOT	0.000000 seconds	0.58	0.42	9182.61
TL_APPLE_AI_PIVOT	-3600.000000 seconds	0.5828	0.4172	20235.05
TL_APPLE_AI_PIVOT	-7200.000000 seconds	0.5842	0.4158	14116.27
TL_APPLE_AI_PIVOT	-10800.000000 seconds	0.578	0.422	12893.86
TL_ETH_ETF	0.000000 seconds	0.81	0.19	13700.70
TL_ETH_ETF	-3600.000000 seconds	0.8062	0.1938	15837.50
TL_ETH_ETF	-7200.000000 seconds	0.8063	0.1937	17142.09
TL_ETH_ETF	-10800.000000 seconds	0.8146	0.1854	20192.17
TL_FED_PIVOT	0.000000 seconds	0.72	0.28	22602.64
TL_FED_PIVOT	-3600.000000 seconds	0.7191	0.2809	24345.21
TL_FED_PIVOT	-7200.000000 seconds	0.725	0.275	18818.63
TL_FED_PIVOT	-10800.000000 seconds	0.7239	0.2761	12296.73
TL_GHOST_TANKER	0.000000 seconds	0.67	0.33	12188.42
TL_GHOST_TANKER	-3600.000000 seconds	0.6696	0.3304	13885.55
TL_GHOST_TANKER	-7200.000000 seconds	0.6698	0.3302	13601.99
TL_GHOST_TANKER	-10800.000000 seconds	0.6749	0.3251	13835.33
TL_HORMUZ_CHOKEPOINT	0.000000 seconds	0.41	0.59	9555.77
TL_HORMUZ_CHOKEPOINT	-3600.000000 seconds	0.4112	0.5888	798.88
TL_HORMUZ_CHOKEPOINT	-7200.000000 seconds	0.408	0.592	463.65
TL_HORMUZ_CHOKEPOINT	-10800.000000 seconds	0.4057	0.5943	24025.08
TL_NVIDIA_EARNINGS	0.000000 seconds	0.23	0.77	23134.87
TL_NVIDIA_EARNINGS	-3600.000000 seconds	0.2268	0.7732	3407.78
TL_NVIDIA_EARNINGS	-7200.000000 seconds	0.2268	0.7732	19874.56
TL_NVIDIA_EARNINGS	-10800.000000 seconds	0.2312	0.7688	16835.84
TL_OPENAI_EXODUS	0.000000 seconds	0.35	0.65	6039.98
TL_OPENAI_EXODUS	-3600.000000 seconds	0.3464	0.6536	12657.84
TL_OPENAI_EXODUS	-7200.000000 seconds	0.3464	0.6536	7270.12
TL_OPENAI_EXODUS	-10800.000000 seconds	0.3482	0.6518	16915.36
TL_TEHRAN_BLACKOUT	0.000000 seconds	0.52	0.48	16682.60
TL_TEHRAN_BLACKOUT	-3600.000000 seconds	0.5231	0.4769	8869.88
TL_TEHRAN_BLACKOUT	-7200.000000 seconds	0.5233	0.4767	15424.20
TL_TEHRAN_BLACKOUT	-10800.000000 seconds	0.5239	0.4761	19951.43
TL_TETHER_COLLAPSE	0.000000 seconds	0.12	0.88	14806.77
TL_TETHER_COLLAPSE	-3600.000000 seconds	0.115	0.885	6657.94
TL_TETHER_COLLAPSE	-7200.000000 seconds	0.1206	0.8794	22033.02
TL_TETHER_COLLAPSE	-10800.000000 seconds	0.1198	0.8802	15112.62
\.

INSERT INTO price_history (timeline_id, ts, price_yes, price_no, volume_usd)
  SELECT timeline_id, CASE WHEN ts LIKE '%seconds' THEN :'anchor'::timestamptz + ts::interval ELSE ts::timestamptz END, price_yes, price_no, volume_usd FROM _echelon_seed_price_history;

COPY timeline_links (source_timeline_id, target_timeline_id) FROM STDIN;
TL_ANTARCTIC_SHELF	TL_HORMUZ_CHOKEPOINT
TL_APPLE_AI_PIVOT	TL_NVIDIA_EARNINGS
TL_APPLE_AI_PIVOT	TL_OPENAI_EXODUS
TL_ETH_ETF	TL_FED_PIVOT
TL_ETH_ETF	TL_TETHER_COLLAPSE
TL_FED_PIVOT	TL_ETH_ETF
TL_FED_PIVOT	TL_NVIDIA_EARNINGS
TL_GHOST_TANKER	TL_HORMUZ_CHOKEPOINT
TL_GHOST_TANKER	TL_TEHRAN_BLACKOUT
TL_HORMUZ_CHOKEPOINT	TL_GHOST_TANKER
TL_HORMUZ_CHOKEPOINT	TL_TEHRAN_BLACKOUT
TL_NVIDIA_EARNINGS	TL_FED_PIVOT
TL_NVIDIA_EARNINGS	TL_OPENAI_EXODUS
TL_OPENAI_EXODUS	TL_APPLE_AI_PIVOT
TL_OPENAI_EXODUS	TL_NVIDIA_EARNINGS
TL_TEHRAN_BLACKOUT	TL_GHOST_TANKER
TL_TEHRAN_BLACKOUT	TL_HORMUZ_CHOKEPOINT
TL_TETHER_COLLAPSE	TL_ETH_ETF
TL_TETHER_COLLAPSE	TL_FED_PIVOT
\.

CREATE TEMP TABLE _echelon_seed_wing_flaps (LIKE wing_flaps) ON COMMIT DROP;
ALTER TABLE _echelon_seed_wing_flaps ALTER COLUMN created_at TYPE text;
COPY _echelon_seed_wing_flaps (id, timeline_id, agent_id, flap_type, action, stability_delta, direction, volume_usd, timeline_stability, spawned_ripple, ripple_timeline_id, founder_yield_earned, created_at) FROM STDIN;
FLAP_00000	TL_HORMUZ_CHOKEPOINT	AGT_VIPER	SABOTAGE	VIPER seeded false OSINT into "Hormuz Strait Chokepoint" and shorted 101,814 YES shards	-13.42	DESTABILISE	41743.96	91.5	t	TL_GHOST_TANKER	\N	-1560.000000 seconds
FLAP_00001	TL_OPENAI_EXODUS	AGT_HAMMERHEAD	TRADE	HAMMERHEAD dumped 120,693 YES shards into "OpenAI Exodus Event"	0.63	ANCHOR	42242.71	63.3	f	\N	26.61	-601.000000 seconds
FLAP_00002	TL_NVIDIA_EARNINGS	AGT_RAVEN	TRADE	RAVEN bought 212,274 YES shards on "NVIDIA Q4 Earnings Shock"	-1.45	DESTABILISE	48823.18	58.5	f	\N	\N	-642.000000 seconds
FLAP_00003	TL_FED_PIVOT	AGT_HAMMERHEAD	TRADE	HAMMERHEAD dumped 92,595 YES shards into "Fed Pivot January 2026"	10.0	ANCHOR	66668.83	67.2	f	\N	666.69	-1321.000000 seconds
FLAP_00004	TL_HORMUZ_CHOKEPOINT	AGT_RAVEN	TRADE	RAVEN unloaded 19,649 NO shards on "Hormuz Strait Chokepoint"	11.8	ANCHOR	11593.32	100.0	t	TL_TETHER_COLLAPSE	136.80	-1729.000000 seconds
FLAP_00005	TL_APPLE_AI_PIVOT	AGT_ARBITER	SHIELD	ARBITER anchored "Apple AI Strategy Pivot" by absorbing 13,529 NO shards	11.11	ANCHOR	5682.23	55.1	t	TL_TETHER_COLLAPSE	63.13	-732.000000 seconds
FLAP_00006	TL_APPLE_AI_PIVOT	AGT_ARBITER	SHIELD	ARBITER anchored "Apple AI Strategy Pivot" by absorbing 40,164 NO shards	2.37	ANCHOR	16869.03	43.99	f	\N	39.98	-2048.000000 seconds
FLAP_00007	TL_ANTARCTIC_SHELF	AGT_ENVOY	SHIELD	ENVOY shielded "Antarctic Ice Shelf Event" with a 24,031-shard YES hedge	2.09	ANCHOR	10573.92	52.7	f	\N	22.10	-2052.000000 seconds
FLAP_00008	TL_HORMUZ_CHOKEPOINT	AGT_SPECTER	TRADE	SPECTER dumped 75,960 YES shards into "Hormuz Strait Chokepoint"	-11.48	DESTABILISE	31143.74	88.2	t	TL_APPLE_AI_PIVOT	\N	-1387.000000 seconds
FLAP_00009	TL_TETHER_COLLAPSE	AGT_LEVIATHAN	TRADE	LEVIATHAN bought 138,172 NO shards on "Tether Stability Crisis"	-14.38	DESTABILISE	121591.65	23.4	t	TL_ANTARCTIC_SHELF	\N	-2512.000000 seconds
FLAP_00010	TL_NVIDIA_EARNINGS	AGT_ARBITER	SHIELD	ARBITER shielded "NVIDIA Q4 Earnings Shock" with a 154,052-shard YES hedge	9.98	ANCHOR	35432.13	59.95	f	\N	353.61	-2064.000000 seconds
FLAP_00011	TL_HORMUZ_CHOKEPOINT	AGT_VIPER	SABOTAGE	VIPER spoofed 5,833 NO shards against "Hormuz Strait Chokepoint"	-5.45	DESTABILISE	3441.79	99.68	f	\N	\N	-2421.000000 seconds
FLAP_00012	TL_APPLE_AI_PIVOT	AGT_HAMMERHEAD	TRADE	HAMMERHEAD bought 64,781 NO shards on "Apple AI Strategy Pivot"	8.8	ANCHOR	27208.28	41.62	f	\N	239.43	-1665.000000 seconds
FLAP_00013	TL_OPENAI_EXODUS	AGT_SPECTER	SABOTAGE	SPECTER spoofed 23,038 NO shards against "OpenAI Exodus Event"	-17.56	DESTABILISE	14974.82	62.67	t	TL_NVIDIA_EARNINGS	\N	-1413.000000 seconds
FLAP_00014	TL_GHOST_TANKER	AGT_CARDINAL	TRADE	CARDINAL bought 58,270 YES shards on "Ghost Tanker - Venezuela Dark Fleet"	-6.12	DESTABILISE	39041.12	45.2	f	\N	\N	-2457.000000 seconds
FLAP_00015	TL_ANTARCTIC_SHELF	AGT_SPECTER	SABOTAGE	SPECTER spoofed 80,857 NO shards against "Antarctic Ice Shelf Event"	-16.99	DESTABILISE	45279.95	50.61	t	TL_GHOST_TANKER	\N	-1714.000000 seconds
FLAP_00016	TL_ETH_ETF	AGT_RAVEN	TRADE	RAVEN unloaded 34,737 NO shards on "Ethereum ETF Approval"	0.18	ANCHOR	6600.03	48.5	f	\N	1.19	-2386.000000 seconds
FLAP_00017	TL_TETHER_COLLAPSE	AGT_ARBITER	TRADE	ARBITER bought 222,485 YES shards on "Tether Stability Crisis"	5.34	ANCHOR	26698.24	37.78	f	\N	142.57	-1827.000000 seconds
FLAP_00018	TL_GHOST_TANKER	AGT_CARDINAL	SHIELD	CARDINAL shielded "Ghost Tanker - Venezuela Dark Fleet" with a 29,392-shard YES hedge	7.96	ANCHOR	19693.03	51.32	f	\N	156.76	-2913.000000 seconds
FLAP_00019	TL_GHOST_TANKER	AGT_VIPER	SABOTAGE	VIPER spoofed 194,389 NO shards against "Ghost Tanker - Venezuela Dark Fleet"	-8.76	DESTABILISE	64148.63	43.36	f	\N	\N	-3015.000000 seconds
FLAP_00020	TL_APPLE_AI_PIVOT	AGT_ORACLE	TRADE	ORACLE bought 67,472 NO shards on "Apple AI Strategy Pivot"	-11.04	DESTABILISE	28338.24	32.82	t	TL_TETHER_COLLAPSE	\N	-3589.000000 seconds
FLAP_00021	TL_APPLE_AI_PIVOT	AGT_ARBITER	SHIELD	ARBITER shielded "Apple AI Strategy Pivot" with a 49,861-shard YES hedge	2.76	ANCHOR	28919.80	43.86	f	\N	79.82	-3457.000000 seconds
FLAP_00022	TL_NVIDIA_EARNINGS	AGT_SPECTER	SABOTAGE	SPECTER seeded false OSINT into "NVIDIA Q4 Earnings Shock" and shorted 181,718 YES shards	-13.74	DESTABILISE	41795.22	49.97	t	TL_ANTARCTIC_SHELF	\N	-2325.000000 seconds
FLAP_00023	TL_HORMUZ_CHOKEPOINT	AGT_CARDINAL	TRADE	CARDINAL unloaded 5,094 NO shards on "Hormuz Strait Chokepoint"	1.33	ANCHOR	3005.80	100.0	f	\N	4.00	-3433.000000 seconds
FLAP_00024	TL_FED_PIVOT	AGT_THRESHER	TRADE	THRESHER bought 51,460 YES shards on "Fed Pivot January 2026"	-4.26	DESTABILISE	37051.65	57.2	f	\N	\N	-2771.000000 seconds
FLAP_00025	TL_APPLE_AI_PIVOT	AGT_THRESHER	TRADE	THRESHER bought 87,743 NO shards on "Apple AI Strategy Pivot"	2.4	ANCHOR	36852.36	41.1	f	\N	88.45	-3522.000000 seconds
FLAP_00026	TL_ETH_ETF	AGT_LEVIATHAN	RIPPLE	LEVIATHAN sent a ripple through "Ethereum ETF Approval" with 37,164 YES shards	11.73	ANCHOR	30103.59	48.32	t	TL_TETHER_COLLAPSE	353.12	-3053.000000 seconds
FLAP_00027	TL_TEHRAN_BLACKOUT	AGT_SPECTER	SABOTAGE	SPECTER spoofed 2,801 NO shards against "Tehran Blackout Protocol"	-14.68	DESTABILISE	1344.64	28.5	t	TL_FED_PIVOT	\N	-3468.000000 seconds
FLAP_00028	TL_ANTARCTIC_SHELF	AGT_ORACLE	SHIELD	ORACLE shielded "Antarctic Ice Shelf Event" with a 119,243-shard YES hedge	6.34	ANCHOR	52467.26	67.6	f	\N	332.64	-4171.000000 seconds
FLAP_00029	TL_GHOST_TANKER	AGT_LEVIATHAN	TRADE	LEVIATHAN bought 271,445 YES shards on "Ghost Tanker - Venezuela Dark Fleet"	-5.38	DESTABILISE	181868.43	52.12	f	\N	\N	-4210.000000 seconds
FLAP_00030	TL_HORMUZ_CHOKEPOINT	AGT_PHOENIX	TRADE	PHOENIX unloaded 83,451 NO shards on "Hormuz Strait Chokepoint"	-2.28	DESTABILISE	49236.54	98.67	f	\N	\N	-3288.000000 seconds
FLAP_00031	TL_ANTARCTIC_SHELF	AGT_THRESHER	TRADE	THRESHER bought 10,862 YES shards on "Antarctic Ice Shelf Event"	10.89	ANCHOR	4779.63	61.26	t	TL_TEHRAN_BLACKOUT	52.05	-4165.000000 seconds
FLAP_00032	TL_TETHER_COLLAPSE	AGT_PHOENIX	SHIELD	PHOENIX shielded "Tether Stability Crisis" with a 126,201-shard YES hedge	2.4	ANCHOR	15144.12	32.44	f	\N	36.35	-3434.000000 seconds
FLAP_00033	TL_APPLE_AI_PIVOT	AGT_RAVEN	TRADE	RAVEN bought 145,133 NO shards on "Apple AI Strategy Pivot"	-5.59	DESTABILISE	60955.89	38.7	f	\N	\N	-4469.000000 seconds
FLAP_00034	TL_ETH_ETF	AGT_RAVEN	TRADE	RAVEN bought 4,178 YES shards on "Ethereum ETF Approval"	5.57	ANCHOR	3384.85	36.59	f	\N	18.85	-3580.000000 seconds
FLAP_00035	TL_NVIDIA_EARNINGS	AGT_THRESHER	RIPPLE	THRESHER sent a ripple through "NVIDIA Q4 Earnings Shock" with 258,598 YES shards	-2.55	DESTABILISE	59477.62	63.71	f	\N	\N	-3481.000000 seconds
FLAP_00036	TL_ANTARCTIC_SHELF	AGT_ENVOY	SHIELD	ENVOY anchored "Antarctic Ice Shelf Event" by absorbing 100,417 NO shards	10.32	ANCHOR	56233.95	50.37	t	TL_NVIDIA_EARNINGS	580.33	-3304.000000 seconds
FLAP_00037	TL_FED_PIVOT	AGT_LEVIATHAN	TRADE	LEVIATHAN dumped 71,881 YES shards into "Fed Pivot January 2026"	-11.7	DESTABILISE	51754.35	61.46	t	TL_ETH_ETF	\N	-5104.000000 seconds
FLAP_00038	TL_NVIDIA_EARNINGS	AGT_RAVEN	TRADE	RAVEN bought 99,126 YES shards on "NVIDIA Q4 Earnings Shock"	-0.97	DESTABILISE	22799.02	66.26	f	\N	\N	-4914.000000 seconds
FLAP_00039	TL_NVIDIA_EARNINGS	AGT_ORACLE	TRADE	ORACLE dumped 35,928 YES shards into "NVIDIA Q4 Earnings Shock"	-11.43	DESTABILISE	8263.49	67.23	t	TL_GHOST_TANKER	\N	-4629.000000 seconds
FLAP_00040	TL_HORMUZ_CHOKEPOINT	AGT_ARBITER	SHIELD	ARBITER anchored "Hormuz Strait Chokepoint" by absorbing 10,881 NO shards	9.98	ANCHOR	6420.11	100.0	f	\N	64.07	-4691.000000 seconds
FLAP_00041	TL_FED_PIVOT	AGT_THRESHER	TRADE	THRESHER unloaded 111,287 NO shards on "Fed Pivot January 2026"	11.87	ANCHOR	31160.53	73.16	t	TL_APPLE_AI_PIVOT	369.88	-5454.000000 seconds
FLAP_00042	TL_ANTARCTIC_SHELF	AGT_ARBITER	TRADE	ARBITER dumped 27,828 YES shards into "Antarctic Ice Shelf Event"	-8.3	DESTABILISE	12244.72	40.05	f	\N	\N	-4423.000000 seconds
FLAP_00043	TL_GHOST_TANKER	AGT_ORACLE	TRADE	ORACLE bought 186,854 NO shards on "Ghost Tanker - Venezuela Dark Fleet"	1.74	ANCHOR	61661.96	57.5	f	\N	107.29	-4344.000000 seconds
FLAP_00044	TL_TETHER_COLLAPSE	AGT_ARBITER	TRADE	ARBITER unloaded 67,222 NO shards on "Tether Stability Crisis"	10.61	ANCHOR	59155.74	30.04	t	TL_ANTARCTIC_SHELF	627.64	-4132.000000 seconds
FLAP_00045	TL_ANTARCTIC_SHELF	AGT_HAMMERHEAD	TRADE	HAMMERHEAD dumped 75,681 YES shards into "Antarctic Ice Shelf Event"	9.13	ANCHOR	33299.97	48.35	f	\N	304.03	-5243.000000 seconds
FLAP_00046	TL_NVIDIA_EARNINGS	AGT_ENVOY	TRADE	ENVOY bought 46,699 NO shards on "NVIDIA Q4 Earnings Shock"	9.03	ANCHOR	35958.30	78.66	f	\N	324.70	-5205.000000 seconds
FLAP_00047	TL_ETH_ETF	AGT_VIPER	SABOTAGE	VIPER seeded false OSINT into "Ethereum ETF Approval" and shorted 32,324 YES shards	-11.06	DESTABILISE	26182.48	31.02	t	TL_OPENAI_EXODUS	\N	-5026.000000 seconds
FLAP_00048	TL_FED_PIVOT	AGT_SPECTER	SABOTAGE	SPECTER seeded false OSINT into "Fed Pivot January 2026" and shorted 9,158 YES shards	-15.42	DESTABILISE	6594.44	61.29	t	TL_TETHER_COLLAPSE	\N	-4665.000000 seconds
FLAP_00049	TL_NVIDIA_EARNINGS	AGT_RAVEN	TRADE	RAVEN dumped 52,296 YES shards into "NVIDIA Q4 Earnings Shock"	6.6	ANCHOR	12028.30	69.63	f	\N	79.39	-4879.000000 seconds
FLAP_00050	TL_GHOST_TANKER	AGT_ORACLE	TRADE	ORACLE unloaded 61,643 NO shards on "Ghost Tanker - Venezuela Dark Fleet"	-9.34	DESTABILISE	20342.28	55.76	f	\N	\N	-5418.000000 seconds
FLAP_00051	TL_TETHER_COLLAPSE	AGT_RAVEN	TRADE	RAVEN dumped 496,733 YES shards into "Tether Stability Crisis"	-6.73	DESTABILISE	59607.99	19.43	f	\N	\N	-6073.000000 seconds
FLAP_00052	TL_ANTARCTIC_SHELF	AGT_VIPER	SABOTAGE	VIPER spoofed 46,401 NO shards against "Antarctic Ice Shelf Event"	-7.92	DESTABILISE	25984.98	39.22	f	\N	\N	-5794.000000 seconds
FLAP_00053	TL_TEHRAN_BLACKOUT	AGT_MEGALODON	TRADE	MEGALODON dumped 61,900 YES shards into "Tehran Blackout Protocol"	6.33	ANCHOR	32188.46	43.18	f	\N	203.75	-5251.000000 seconds
FLAP_00054	TL_TEHRAN_BLACKOUT	AGT_THRESHER	TRADE	THRESHER bought 139,120 YES shards on "Tehran Blackout Protocol"	6.85	ANCHOR	72342.52	36.85	f	\N	495.55	-6260.000000 seconds
FLAP_00055	TL_NVIDIA_EARNINGS	AGT_SPECTER	SABOTAGE	SPECTER spoofed 27,179 NO shards against "NVIDIA Q4 Earnings Shock"	-5.84	DESTABILISE	20928.33	63.03	f	\N	\N	-4953.000000 seconds
FLAP_00056	TL_APPLE_AI_PIVOT	AGT_VIPER	TRADE	VIPER unloaded 168,968 NO shards on "Apple AI Strategy Pivot"	4.56	ANCHOR	70966.70	44.29	f	\N	323.61	-6077.000000 seconds
FLAP_00057	TL_GHOST_TANKER	AGT_ARBITER	SHIELD	ARBITER shielded "Ghost Tanker - Venezuela Dark Fleet" with a 81,537-shard YES hedge	9.84	ANCHOR	54630.01	65.1	f	\N	537.56	-5738.000000 seconds
FLAP_00058	TL_FED_PIVOT	AGT_ORACLE	TRADE	ORACLE bought 263,971 NO shards on "Fed Pivot January 2026"	-4.73	DESTABILISE	73911.88	76.71	f	\N	\N	-5991.000000 seconds
FLAP_00059	TL_APPLE_AI_PIVOT	AGT_LEVIATHAN	RIPPLE	LEVIATHAN rippled "Apple AI Strategy Pivot" with a 480,131-shard NO sweep	1.62	ANCHOR	201655.17	39.73	f	\N	326.68	-6123.000000 seconds
FLAP_00060	TL_OPENAI_EXODUS	AGT_PHOENIX	SHIELD	PHOENIX anchored "OpenAI Exodus Event" by absorbing 94,280 NO shards	10.08	ANCHOR	61282.61	80.23	t	TL_ETH_ETF	617.73	-6662.000000 seconds
FLAP_00061	TL_HORMUZ_CHOKEPOINT	AGT_THRESHER	TRADE	THRESHER bought 41,912 NO shards on "Hormuz Strait Chokepoint"	4.14	ANCHOR	24728.60	90.02	f	\N	102.38	-5537.000000 seconds
FLAP_00062	TL_NVIDIA_EARNINGS	AGT_ORACLE	TRADE	ORACLE bought 138,491 YES shards on "NVIDIA Q4 Earnings Shock"	-5.26	DESTABILISE	31853.08	68.87	f	\N	\N	-7186.000000 seconds
FLAP_00063	TL_OPENAI_EXODUS	AGT_VIPER	SABOTAGE	VIPER spoofed 89,310 NO shards against "OpenAI Exodus Event"	-10.79	DESTABILISE	58051.88	70.15	t	TL_TETHER_COLLAPSE	\N	-7427.000000 seconds
FLAP_00064	TL_ETH_ETF	AGT_RAVEN	SHIELD	RAVEN anchored "Ethereum ETF Approval" by absorbing 7,707 NO shards	3.71	ANCHOR	1464.38	42.08	f	\N	5.43	-6498.000000 seconds
FLAP_00065	TL_APPLE_AI_PIVOT	AGT_HAMMERHEAD	TRADE	HAMMERHEAD dumped 39,210 YES shards into "Apple AI Strategy Pivot"	-0.29	DESTABILISE	22741.83	38.11	f	\N	\N	-5913.000000 seconds
FLAP_00066	TL_HORMUZ_CHOKEPOINT	AGT_SPECTER	TRADE	SPECTER bought 71,745 NO shards on "Hormuz Strait Chokepoint"	-2.98	DESTABILISE	42329.99	85.88	f	\N	\N	-6598.000000 seconds
FLAP_00067	TL_NVIDIA_EARNINGS	AGT_SPECTER	SABOTAGE	SPECTER seeded false OSINT into "NVIDIA Q4 Earnings Shock" and shorted 140,157 YES shards	-9.91	DESTABILISE	32236.23	74.13	f	\N	\N	-7055.000000 seconds
FLAP_00068	TL_TETHER_COLLAPSE	AGT_HAMMERHEAD	TRADE	HAMMERHEAD bought 24,500 NO shards on "Tether Stability Crisis"	-11.18	DESTABILISE	21560.26	26.16	t	TL_ANTARCTIC_SHELF	\N	-6151.000000 seconds
FLAP_00069	TL_ETH_ETF	AGT_PHOENIX	TRADE	PHOENIX unloaded 369,327 NO shards on "Ethereum ETF Approval"	0.71	ANCHOR	70172.29	38.37	f	\N	49.82	-7837.000000 seconds
FLAP_00070	TL_ANTARCTIC_SHELF	AGT_HAMMERHEAD	TRADE	HAMMERHEAD dumped 103,286 YES shards into "Antarctic Ice Shelf Event"	-5.51	DESTABILISE	45446.12	47.14	f	\N	\N	-7432.000000 seconds
FLAP_00071	TL_HORMUZ_CHOKEPOINT	AGT_MEGALODON	TRADE	MEGALODON bought 169,231 YES shards on "Hormuz Strait Chokepoint"	-0.62	DESTABILISE	69384.89	88.86	f	\N	\N	-7352.000000 seconds
FLAP_00072	TL_FED_PIVOT	AGT_THRESHER	TRADE	THRESHER bought 80,691 YES shards on "Fed Pivot January 2026"	-10.13	DESTABILISE	58098.22	81.44	t	TL_HORMUZ_CHOKEPOINT	\N	-6997.000000 seconds
FLAP_00073	TL_TEHRAN_BLACKOUT	AGT_CARDINAL	TRADE	CARDINAL bought 62,780 YES shards on "Tehran Blackout Protocol"	-3.54	DESTABILISE	32645.87	30.0	f	\N	\N	-7846.000000 seconds
FLAP_00074	TL_ANTARCTIC_SHELF	AGT_ENVOY	SHIELD	ENVOY shielded "Antarctic Ice Shelf Event" with a 35,164-shard YES hedge	7.41	ANCHOR	15472.37	52.65	f	\N	114.65	-8340.000000 seconds
\.

INSERT INTO wing_flaps (id, timeline_id, agent_id, flap_type, action, stability_delta, direction, volume_usd, timeline_stability, spawned_ripple, ripple_timeline_id, founder_yield_earned, created_at)
  SELECT id, timeline_id, agent_id, flap_type, action, stability_delta, direction, volume_usd, timeline_stability, spawned_ripple, ripple_timeline_id, founder_yield_earned, CASE WHEN created_at LIKE '%seconds' THEN :'anchor'::timestamptz + created_at::interval ELSE created_at::timestamptz END FROM _echelon_seed_wing_flaps;

INSERT INTO echelon_seed_runs (id, anchor, fixture_digest, scale, tool_version, schema_revision, schema_fingerprint, project) VALUES (1, :'anchor'::timestamptz, 'sha256:88070e3c7a11b009983c419fae0a80d6ed473489cfd70f33d38b278b43a9ea6f', 1, '0.1.0', '0001', 'sha256:520722c5ea365406761380796116ef85d9462d2d7366a5223171a91ecf4c55cb', 'echelon');

COMMIT;
