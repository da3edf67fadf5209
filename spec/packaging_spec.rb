# frozen_string_literal: true

require "json"
require "rubygems/package"

# Runs `command`, expecting it to succeed within `limit` seconds; returns its output.
module PackagingCommands
  def run!(env, *command, chdir:, limit: 900)
    output, status, took = run_command(env, *command, chdir: chdir, limit: limit)
    expect(took).to be < limit
    expect(status).to be_success, "#{command.join(" ")} failed (#{status.inspect}):\n#{output[-6000..] || output}"
    output
  end
end

# Slow (a release build of the extension inside `gem install`: ~1.5-4 min on 2 cores). It runs in
# every `rspec` run; `rspec --tag ~packaging` leaves it out while iterating.
RSpec.describe "the packaged gem", :packaging, timeout: 1200 do
  include PackagingCommands

  # The checkout's target dir: `rake compile` has just built the same dependencies in release,
  # so `gem install` only recompiles the engine and the bindings (a fresh CI run saves a full
  # release build); the checkout's lib/ keeps its own copy of the extension.
  let(:cargo_target_dir) { File.join(TestSite::ROOT, "target") }
  # What `gem build` reads: the gemspec picks its files from these.
  let(:sources) { %w[ucrawler_native.gemspec Cargo.toml Cargo.lock README.md lib ext crates vendor] }
  # The installed gem must not see the checkout or the caller's Ruby setup.
  let(:clean_env) { { "RUBYLIB" => nil, "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil } }

  it "builds with `gem build`, installs with `gem install` and crawls from the installed copy" do
    checkout_count = 0
    UcrawlerNative::Crawler.new(depth: 1, per_host: 8).crawl(site_url("/")) { |page| checkout_count += 1 if page.ok? }
    expect(checkout_count).to be > 10

    Dir.mktmpdir("ucrawler-gem") do |tmp|
      copy = File.join(tmp, "src")
      FileUtils.mkdir_p(copy)
      sources.each do |entry|
        path = File.join(TestSite::ROOT, entry)
        FileUtils.cp_r(path, copy) if File.exist?(path)
      end
      run!(clean_env, "gem", "build", "ucrawler_native.gemspec", chdir: copy)
      package = Dir[File.join(copy, "ucrawler_native-*.gem")]
      expect(package.size).to eq(1)

      gem_home = File.join(tmp, "gems")
      run!(clean_env.merge("CARGO_TARGET_DIR" => cargo_target_dir, "GEM_HOME" => gem_home),
           "gem", "install", "--local", "--install-dir", gem_home, "--no-document", package.first, chdir: tmp)
      FileUtils.rm_rf(copy) # nothing of the build tree may be needed any more

      script = <<~RUBY
        require "json"
        require "ucrawler_native"
        count = 0
        UcrawlerNative::Crawler.new(depth: 1, per_host: 8).crawl(ARGV[0]) { |page| count += 1 if page.ok? }
        puts JSON.generate(count: count, gem_dir: Gem.loaded_specs.fetch("ucrawler_native").gem_dir,
                           features: $LOADED_FEATURES.grep(/ucrawler_native/))
      RUBY
      elsewhere = File.join(tmp, "elsewhere")
      FileUtils.mkdir_p(elsewhere)
      env = clean_env.merge("GEM_HOME" => gem_home, "GEM_PATH" => gem_home)
      output = run!(env, RbConfig.ruby, "-e", script, site_url("/"), chdir: elsewhere)
      result = JSON.parse(output.lines.last, symbolize_names: true)

      expect(result[:count]).to eq(checkout_count)
      expect(result[:gem_dir]).to start_with(gem_home)
      expect(result[:features]).to include(end_with(".so"))
      expect(result[:features]).to all(start_with(gem_home))
      expect(result[:features].grep(/\A#{Regexp.escape(TestSite::ROOT)}/)).to be_empty
    end
  end
end

RSpec.describe "the prebuilt x86_64-linux gem", :packaging, timeout: 1200 do
  include PackagingCommands

  let(:cargo_target_dir) { File.join(TestSite::ROOT, "target") }
  let(:sources) { %w[ucrawler_native.gemspec Rakefile Cargo.toml Cargo.lock README.md lib ext crates vendor] }
  # The glibc the README states as the floor: the newest symbol version the .so may need.
  let(:glibc_floor) { File.read(File.join(TestSite::ROOT, "README.md"))[/needs glibc (\d+\.\d+) or newer/, 1] }

  it "ships only Ruby code and the extension, installs with no cargo on PATH, crawls, and needs the stated glibc" do
    Dir.mktmpdir("ucrawler-native-gem") do |tmp|
      copy = File.join(tmp, "src")
      FileUtils.mkdir_p(copy)
      sources.each { |entry| FileUtils.cp_r(File.join(TestSite::ROOT, entry), copy) }
      FileUtils.rm_f(Dir[File.join(copy, "lib/**/*.so")]) # built here, not taken from the checkout
      run!({ "RUBYLIB" => nil, "RUBYOPT" => nil, "CARGO_TARGET_DIR" => cargo_target_dir }, "rake", "native", "gem", chdir: copy)
      package = Dir[File.join(copy, "pkg", "ucrawler_native-*-x86_64-linux.gem")]
      expect(package.size).to eq(1)

      files = Gem::Package.new(package.first).contents
      expect(files).to include("lib/ucrawler_native/ucrawler_native.so", "lib/ucrawler_native/tasks/ucrawler.rake")
      expect(files.grep(/\.rs\z|Cargo\.(toml|lock)\z|\Aext\/|\Acrates\//)).to be_empty

      gem_home = File.join(tmp, "gems")
      no_cargo = { "PATH" => "/usr/bin:/bin", "CARGO" => nil, "HOME" => tmp, "RUBYLIB" => nil, "RUBYOPT" => nil,
                   "GEM_HOME" => gem_home, "GEM_PATH" => gem_home }
      output = run!(no_cargo, "gem", "install", "--local", "--no-document", package.first, chdir: tmp, limit: 120)
      expect(output).not_to include("Building native extensions")

      script = 'require "ucrawler_native"; n = 0; UcrawlerNative::Crawler.new(depth: 0).crawl(ARGV[0]) { |p| n += 1 if p.ok? }; ' \
               'print n, " ", $LOADED_FEATURES.grep(/ucrawler_native\.so/).first'
      output = run!(no_cargo, RbConfig.ruby, "-e", script, site_url("/"), chdir: tmp, limit: 60)
      expect(output).to match(%r{\A1 #{Regexp.escape(gem_home)}/.*ucrawler_native\.so\z})

      so = File.join(copy, "lib/ucrawler_native/ucrawler_native.so")
      versions = run!({}, "objdump", "-T", so, chdir: tmp).scan(/GLIBC_(\d+\.\d+(?:\.\d+)?)/).flatten.uniq
      newest = versions.max_by { |v| Gem::Version.new(v) }
      expect(glibc_floor).not_to be_nil
      expect(Gem::Version.new(newest)).to be <= Gem::Version.new(glibc_floor)
    end
  end
end

RSpec.describe "the gemspec" do
  it "ships every file under lib/ but the compiled extension (the Railtie loads tasks/*.rake)" do
    spec = Gem::Specification.load(File.join(TestSite::ROOT, "ucrawler_native.gemspec"))
    in_lib = Dir.glob("lib/**/*", base: TestSite::ROOT).select { |path| File.file?(File.join(TestSite::ROOT, path)) }

    expect(in_lib.reject { |path| path.end_with?(".so") } - spec.files).to be_empty
  end
end
