# frozen_string_literal: true

require_relative "lib/ucrawler_native/version"

Gem::Specification.new do |spec|
  spec.name = "ucrawler_native"
  spec.version = UcrawlerNative::VERSION
  spec.authors = ["ucrawler_native developers"]
  spec.summary = "A web crawler with a Rust engine and hard memory bounds, for Ruby and Rails"
  spec.description = <<~DESC
    HTTP, decompression, HTML parsing, the frontier and dedup run in a Rust engine (tokio,
    reqwest, lol_html and scraper) outside the Ruby heap, under configured memory bounds; Ruby receives
    compact pages in a block, with the GVL released while it waits.
  DESC
  spec.license = "MIT"
  spec.homepage = "https://github.com/ucrawler/ucrawler_native"
  spec.required_ruby_version = ">= 3.1"

  spec.files = Dir[
    "lib/**/*.rb",
    "lib/**/*.rake", # the Rails rake tasks (the Railtie loads them)
    "lib/generators/**/*.tt", # the install generator's templates
    "lib/ucrawler_native/web/assets/*", # the dashboard's page (also built into the binary)
    "ext/ucrawler_native/extconf.rb",
    "ext/ucrawler_native/Cargo.toml",
    "ext/ucrawler_native/src/**/*.rs",
    # Every workspace member: cargo loads them all (and ucrawler's dev-dependency on the test
    # site) before it builds the extension; only the engine and the bindings are compiled.
    "crates/*/Cargo.toml",
    "crates/*/src/**/*.rs",
    # Declared as [[bench]] targets: cargo wants the files to exist (they are not built).
    "crates/*/benches/**/*.rs",
    "Cargo.toml",
    "Cargo.lock",
    # reqwest and hyper, patched (vendor/README.md): the [patch] in Cargo.toml points here.
    "vendor/README.md",
    "vendor/reqwest-0.12.28/**/*",
    "vendor/hyper-1.12.0/**/*",
    "README.md",
  ]
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/ucrawler_native/extconf.rb"]
  spec.metadata["rubygems_mfa_required"] = "true"
end
