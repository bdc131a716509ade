# The two commands of the README, and a few helpers. CMake does the building.
#   make demo   install missing packages, build, make a sample database, run a program on it
#   make test   build and run every test
#   make asan   the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench  the benchmarks (bench/README.md)
#   make install [PREFIX=/usr/local] [DESTDIR=]   install (README: Installing)
#   make deb    the Debian package <build>/gonghui_VERSION_ARCH.deb

BUILD ?= build
DEMO_DB ?= $(BUILD)/demo.db
CITY_DB ?= $(BUILD)/city.db
CITY_MEMBERS ?= 1000000
PACKAGES = build-essential cmake pkg-config liblua5.4-dev liblmdb-dev lmdb-utils libffi-dev libcsv-dev \
           libcmocka-dev python3 libedit-dev libutf8proc-dev libxlsxwriter-dev libicu-dev libssl-dev \
           libminizip-dev libexpat1-dev rime-data-stroke
# gettext: msgfmt builds the message catalogs (po/); xgettext for tools/update-po.sh
PACKAGES += gettext strace
# lua5.4: cli_lua_compat checks its expectations against stock Lua
PACKAGES += lua5.4
# what CI needs on top: the fuzz builds, the format check, the terminal test
CI_PACKAGES = clang libclang-rt-14-dev clang-format tmux
# gonghui serve (issue 17): HTTP, argon2id; the load bench and the browser test
PACKAGES += libmicrohttpd-dev libsodium-dev
CI_PACKAGES += wrk chromium curl
CI_PACKAGES += lua-check
# the .deb (cpack's DEB generator and dpkg-shlibdeps), its lint, the zsh completion's syntax
CI_PACKAGES += dpkg-dev lintian zsh
# federations over NATS JetStream (issue 20): the nats plugin; nats-server for its tests
PACKAGES += libnats-dev
CI_PACKAGES += nats-server

PREFIX ?= /usr/local

.PHONY: all deps deps-ci build demo demo-city test asan bench clean install deb

all: build

deps:
	@sh tools/install-deps.sh $(PACKAGES)

deps-ci:
	@sh tools/install-deps.sh $(PACKAGES) $(CI_PACKAGES)

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j2

demo: deps build
	rm -rf $(DEMO_DB)
	$(BUILD)/gonghui --db $(DEMO_DB) --new-db run scripts/sample_data.lua members=5000 seed=2025 activity=1
	$(BUILD)/gonghui --db $(DEMO_DB) run scripts/demo.lua
	@echo
	@echo "The sample database is $(DEMO_DB); try: $(BUILD)/gonghui --db $(DEMO_DB) stat"

# The same programs on a city's registry (CITY_MEMBERS, default 1,000,000),
# each step timed: wall and CPU seconds and peak memory.
demo-city: build
	rm -rf $(CITY_DB)
	/usr/bin/time -f 'sample registry: %e s wall, %U+%S s CPU, %M KB peak' \
	  $(BUILD)/gonghui --db $(CITY_DB) --new-db run scripts/sample_data.lua members=$(CITY_MEMBERS) seed=2025 activity=1
	/usr/bin/time -f 'the programs (demo.lua): %e s wall, %U+%S s CPU, %M KB peak' \
	  $(BUILD)/gonghui --db $(CITY_DB) run scripts/demo.lua
	@du -sh $(CITY_DB)

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGH_SANITIZE=ON
	cmake --build build-asan -j2
	cd build-asan && ctest --output-on-failure -j2

bench: build
	sh bench/run.sh
	$(BUILD)/bench/ffi_call

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

deb: build
	cd $(BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) build-asan
