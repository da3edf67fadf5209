# frozen_string_literal: true

require "fileutils"

# What the benchmarks (bench/run, bench/many_hosts, bench/render) install when it is missing,
# idempotently: Debian packages (apt-get), Scrapy in bench/.venv-scrapy, at the versions pinned in
# bench/peers/requirements-scrapy.txt, and Crawlee + Playwright (npm, no browser download) in
# bench/.node-crawlee at the versions of bench/peers/package-crawlee.json (each reinstalled when
# its file changes).
module BenchDeps
  ROOT = File.expand_path("../..", __dir__)
  SCRAPY_VENV = File.join(ROOT, "bench/.venv-scrapy")
  SCRAPY_PYTHON = File.join(SCRAPY_VENV, "bin/python")
  SCRAPY_REQUIREMENTS = File.join(ROOT, "bench/peers/requirements-scrapy.txt")
  CRAWLEE_DIR = File.join(ROOT, "bench/.node-crawlee")
  CRAWLEE_PACKAGE = File.join(ROOT, "bench/peers/package-crawlee.json")

  module_function

  def installed?(package)
    IO.popen(["dpkg-query", "-W", "-f=${Status}", package], err: File::NULL, &:read).to_s.include?("install ok installed")
  rescue SystemCallError
    false
  end

  # Installs the missing ones of `packages`, then stops and disables `stop_services` (an install
  # starts a packaged service on its default port: nginx).
  def apt_install(packages, log:, stop_services: [])
    missing = packages.reject { |p| installed?(p) }
    return if missing.empty?

    log.call("installing #{missing.join(" ")} (apt)")
    sudo = Process.uid.zero? ? [] : ["sudo"]
    run!(*sudo, "apt-get", "update", "-qq")
    run!({ "DEBIAN_FRONTEND" => "noninteractive" }, *sudo, "apt-get", "install", "-y", "-qq",
         "--no-install-recommends", *missing, out: File::NULL)
    stop_services.each do |service|
      system(*sudo, "systemctl", "disable", "--now", service, out: File::NULL, err: File::NULL)
    end
  end

  # Scrapy in its own venv (needs python3-venv); returns the venv's python.
  def scrapy(log:)
    stamp = File.join(SCRAPY_VENV, ".requirements")
    requirements = File.read(SCRAPY_REQUIREMENTS)
    return SCRAPY_PYTHON if File.exist?(stamp) && File.read(stamp) == requirements

    log.call("installing Scrapy into #{SCRAPY_VENV}")
    run!("/usr/bin/python3", "-m", "venv", SCRAPY_VENV) unless File.exist?(SCRAPY_PYTHON)
    run!(File.join(SCRAPY_VENV, "bin/pip"), "install", "-q", "-r", SCRAPY_REQUIREMENTS)
    File.write(stamp, requirements)
    SCRAPY_PYTHON
  end

  # Crawlee and Playwright in bench/.node-crawlee (needs node and npm: apt nodejs npm when
  # missing); Playwright's browser download skipped (the peer drives Debian's chromium). Returns
  # the node_modules directory (the peer finds it through NODE_PATH).
  def crawlee(log:)
    apt_install(%w[nodejs npm], log: log) unless system("which node npm > /dev/null 2>&1")
    modules = File.join(CRAWLEE_DIR, "node_modules")
    stamp = File.join(CRAWLEE_DIR, ".package")
    package = File.read(CRAWLEE_PACKAGE)
    return modules if File.exist?(stamp) && File.read(stamp) == package && File.directory?(modules)

    log.call("installing Crawlee and Playwright into #{CRAWLEE_DIR} (npm)")
    FileUtils.mkdir_p(CRAWLEE_DIR)
    File.write(File.join(CRAWLEE_DIR, "package.json"), package)
    run!({ "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD" => "1" }, "nice", "npm", "install", "--no-audit", "--no-fund",
         "--loglevel=error", chdir: CRAWLEE_DIR, out: File::NULL)
    File.write(stamp, package)
    modules
  end

  def run!(*cmd, **opts)
    system(*cmd, **opts) || abort("bench: failed: #{cmd.reject { |c| c.is_a?(Hash) }.join(" ")}")
  end
end
