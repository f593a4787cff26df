# slides.mk - the lecture deck's build (included by the Makefile).
#
# Parts (slides/NN-name.md) and diagrams (slides/diagrams/*.mmd) go through
# slides/tools/deck.py, which cuts the code snippets out of the kit's
# sources, into one Marp file; Marp makes the HTML and the PDF, mmdc the
# diagrams, both with the system's Chromium. Every output depends on what it
# is made from (deck.d names the sources the snippets come from), so a
# second `make slides` with nothing changed does nothing. See slides/README.md.

SLIDES_OUT := $(BUILD)/slides
# Chromium for Marp and mmdc (Debian's package); set CHROME_PATH to use another.
CHROME_PATH ?= $(firstword $(wildcard /usr/bin/chromium /usr/bin/chromium-browser \
                 /usr/bin/google-chrome /usr/bin/google-chrome-stable))
SLIDE_PARTS := $(sort $(wildcard slides/[0-9][0-9]-*.md))
SLIDE_SVGS := $(patsubst slides/diagrams/%.mmd,$(SLIDES_OUT)/diagrams/%.svg,$(wildcard slides/diagrams/*.mmd))
SLIDE_EXAMPLES := $(wildcard slides/examples/*.c)
SLIDE_EXAMPLE_OBJS := $(SLIDE_EXAMPLES:slides/examples/%.c=$(SLIDES_OUT)/examples/%.o)
SLIDE_EXAMPLE_RUNS := $(SLIDE_EXAMPLES:slides/examples/%.c=$(SLIDES_OUT)/examples/%.ran)
SLIDES_NPM := slides/node_modules/.package-lock.json
SLIDES_BIN := slides/node_modules/.bin
# Marp leaves Chromium's sandbox off by itself when run as root; mmdc is told so in its config.
SLIDES_ENV := CHROME_PATH=$(CHROME_PATH) PUPPETEER_SKIP_DOWNLOAD=1
MARP = $(SLIDES_ENV) $(SLIDES_BIN)/marp --no-stdin --html --theme-set slides/theme/kit.css

.PHONY: slides slides-check slides-tools

# `make help` lists `slides` once, from the Makefile's line for the handout, which
# says what it does in both places.
slides: $(SLIDES_OUT)/index.html $(SLIDES_OUT)/slides.pdf
	@echo "slides: $(SLIDES_OUT)/index.html"
	@echo "slides: $(SLIDES_OUT)/slides.pdf"

slides-check: $(SLIDES_OUT)/render.ok $(SLIDE_EXAMPLE_RUNS) ## check the deck: snippets, examples, every slide fits
	@echo "slides: every slide fits 1280x720; pictures in $(SLIDES_OUT)/png/"

slides-tools:
	@command -v node >/dev/null && command -v npm >/dev/null && test -x "$(CHROME_PATH)" || { \
	 echo "make slides: needs Node.js, npm and Chromium (found: node $$(command -v node || echo none)," \
	      "npm $$(command -v npm || echo none), Chromium $(or $(CHROME_PATH),none))." >&2; \
	 echo "  Install them with 'make deps' (as root on Debian/Ubuntu), or set CHROME_PATH." >&2; exit 2; }

# The tool chain, exactly as package-lock.json pins it; no browser is downloaded.
$(SLIDES_NPM): slides/package.json slides/package-lock.json | slides-tools
	@echo "  NPM   slides (npm ci)"
	@cd slides && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json

$(SLIDES_OUT)/puppeteer.json: slides/tools/deck.py | slides-tools
	@mkdir -p $(@D) && $(PYTHON) slides/tools/deck.py puppeteer-config "$(CHROME_PATH)" > $@

$(SLIDES_OUT)/diagrams/%.svg: slides/diagrams/%.mmd slides/theme/mermaid.json $(SLIDES_OUT)/puppeteer.json $(SLIDES_NPM)
	@echo "  MMDC  $<"
	@mkdir -p $(@D) && $(SLIDES_ENV) $(SLIDES_BIN)/mmdc --quiet -p $(SLIDES_OUT)/puppeteer.json \
	   -c slides/theme/mermaid.json -b transparent -i $< -o $@

$(SLIDES_OUT)/deck.md: $(SLIDE_PARTS) $(SLIDE_SVGS) slides/tools/deck.py
	@echo "  DECK  $(words $(SLIDE_PARTS)) parts -> $@"
	@$(PYTHON) slides/tools/deck.py build --out $@ --deps $(SLIDES_OUT)/deck.d --diagrams $(SLIDES_OUT)/diagrams

$(SLIDES_OUT)/index.html: $(SLIDES_OUT)/deck.md slides/theme/kit.css $(SLIDES_NPM)
	@echo "  MARP  $@"
	@$(MARP) -o $@ $< 2> $@.log || { cat $@.log >&2; exit 1; }

$(SLIDES_OUT)/slides.pdf: $(SLIDES_OUT)/deck.md slides/theme/kit.css $(SLIDES_NPM)
	@echo "  MARP  $@"
	@$(MARP) --pdf --pdf-outlines -o $@ $< 2> $@.log || { cat $@.log >&2; exit 1; }

# Every slide rendered as a person sees it: nothing cut off, every picture there.
$(SLIDES_OUT)/render.ok: $(SLIDES_OUT)/index.html $(SLIDES_OUT)/slides.pdf slides/tools/check_render.mjs
	@echo "  CHECK every slide at 1280x720"
	@rm -f $@ && $(SLIDES_ENV) node slides/tools/check_render.mjs --html $(SLIDES_OUT)/index.html \
	   --pdf $(SLIDES_OUT)/slides.pdf --count $(SLIDES_OUT)/deck.count --png $(SLIDES_OUT)/png && touch $@

# The complete example files a slide shows: they must still compile against
# the kit, warnings as errors, and run to the end (each has a main).
$(SLIDES_OUT)/examples/%.o: slides/examples/%.c
	@echo "  CC    $<"
	@mkdir -p $(@D) && $(CC) $(KIT_CFLAGS) -Werror -Iruntime -Iruntime/testing -MMD -MP -c $< -o $@

.SECONDARY: $(SLIDE_EXAMPLE_OBJS)
$(SLIDES_OUT)/examples/%.ran: $(SLIDES_OUT)/examples/%.o $(RT_OBJS)
	@echo "  RUN   $(<:.o=)"
	@$(CC) $^ -o $(<:.o=) $(KIT_LDFLAGS) && $(<:.o=) && touch $@

-include $(SLIDES_OUT)/deck.d $(SLIDE_EXAMPLE_OBJS:.o=.d)
