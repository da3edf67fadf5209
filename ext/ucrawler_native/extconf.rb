# frozen_string_literal: true

# Builds the extension with cargo (the rb_sys gem is not needed: the rb-sys *crate* does the
# work, and on Linux the cdylib does not link libruby). Writes a Makefile whose rules call cargo,
# copy the library to ucrawler_native.so and install it under ucrawler_native/.
require "mkmf"
require "rbconfig"

root = File.expand_path("../..", __dir__)
manifest = File.join(root, "Cargo.toml")
abort "ucrawler_native: #{manifest} is missing" unless File.exist?(manifest)

cargo = ENV["CARGO"] || find_executable("cargo") || File.expand_path("~/.cargo/bin/cargo")
abort "ucrawler_native: cargo not found; install a Rust toolchain (https://rustup.rs)" unless File.executable?(cargo)

target_dir = ENV["CARGO_TARGET_DIR"] || File.join(root, "target")
profile = ENV["UCRAWLER_CARGO_PROFILE"] || "release"
profile_dir = profile == "dev" ? "debug" : profile
rustlib = File.join(target_dir, profile_dir, "libucrawler_native.#{RbConfig::CONFIG["SOEXT"] || "so"}")
dlext = RbConfig::CONFIG["DLEXT"]

$target_prefix = "/ucrawler_native"
makefile = dummy_makefile($srcdir).join
# dummy_makefile's default rules do nothing; ours build and install the library.
makefile = makefile.sub(/^all install static install-so install-rb: Makefile\n\t@\$\(NULLCMD\)\n/, "")
makefile << <<~MAKE

  # dummy_makefile does not define it (create_makefile would): without it `install-so` put the
  # library at the top of the gem's extension dir, where `require "ucrawler_native/ucrawler_native"`
  # cannot find it. rake-compiler overrides it on make's command line.
  target_prefix = #{$target_prefix}
  CARGO = #{cargo}
  RUSTLIB = #{rustlib}
  DLLIB = ucrawler_native.#{dlext}
  RUBY_FOR_CARGO = #{RbConfig.ruby}

  all: $(DLLIB)
  static: all
  install: install-so
  install-rb:

  .PHONY: FORCE
  FORCE:

  $(RUSTLIB): FORCE
  \tRUBY=$(RUBY_FOR_CARGO) CARGO_TARGET_DIR=#{target_dir} $(CARGO) build --manifest-path #{manifest} -p ucrawler_native --lib --profile #{profile} --locked

  $(DLLIB): $(RUSTLIB)
  \tcp $(RUSTLIB) $(DLLIB)

  install-so: $(DLLIB)
  \tmkdir -p $(DESTDIR)$(sitearchdir)$(target_prefix)
  \tcp $(DLLIB) $(DESTDIR)$(sitearchdir)$(target_prefix)/$(DLLIB)

  clean-so::
  \trm -f $(DLLIB)
MAKE
File.write("Makefile", makefile)
