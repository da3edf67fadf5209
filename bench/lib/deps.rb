# frozen_string_literal: true

# What the benchmarks (bench/run, bench/many_hosts) install when it is missing, idempotently:
# Debian packages (apt-get) and Scrapy in bench/.venv-scrapy, at the versions pinned in
# bench/peers/requirements-scrapy.txt (reinstalled when that file changes).
module BenchDeps
  ROOT = File.expand_path("../..", __dir__)
  SCRAPY_VENV = File.join(ROOT, "bench/.venv-scrapy")
  SCRAPY_PYTHON = File.join(SCRAPY_VENV, "bin/python")
  SCRAPY_REQUIREMENTS = File.join(ROOT, "bench/peers/requirements-scrapy.txt")

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

  def run!(*cmd, **opts)
    system(*cmd, **opts) || abort("bench: failed: #{cmd.reject { |c| c.is_a?(Hash) }.join(" ")}")
  end
end
