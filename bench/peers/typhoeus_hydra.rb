# frozen_string_literal: true

# bench/run's peer (4): Typhoeus::Hydra (libcurl multi, max_concurrency 64, connections reused)
# with Nokogiri for the title and the links, dedup in a Set. Parsing runs in on_complete, as
# usual with Hydra. Prints "URL\tTITLE" for every page fetched with status 200.
# Usage: ruby bench/peers/typhoeus_hydra.rb URL [CONCURRENCY]
require "typhoeus"
require "nokogiri"
require "set"
require_relative "common"

seed = URI(ARGV.fetch(0))
concurrency = Integer(ARGV.fetch(1, "64"))
origin = PeerCommon.origin(seed)
out = $stdout
out.sync = false
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)

robots = Typhoeus.get(seed.merge("/robots.txt").to_s)
allowed = PeerCommon.robots_rules(robots.code == 200 ? robots.body : "")

hydra = Typhoeus::Hydra.new(max_concurrency: concurrency)
seen = Set.new
pages = 0
errors = 0

enqueue = nil
on_complete = lambda do |url, response|
  if response.code == 200 && response.headers["content-type"].to_s.include?("html")
    doc = Nokogiri::HTML(response.body)
    title = doc.at_css("title")&.text
    doc.css("a[href]").each do |a|
      link = PeerCommon.resolve(url, a["href"], origin)
      enqueue.call(link) if link
    end
    out << PeerCommon.line(url, title)
    pages += 1
  else
    warn "typhoeus_hydra: #{url}: #{response.code} #{response.return_code}"
    errors += 1
  end
end
enqueue = lambda do |url|
  return unless seen.add?(url.to_s)
  return unless allowed.call(url.request_uri)

  request = Typhoeus::Request.new(url.to_s, connecttimeout: 10, timeout: 30)
  request.on_complete { |response| on_complete.call(url, response) }
  hydra.queue(request)
end
enqueue.call(PeerCommon.resolve(seed, seed.to_s, origin))
hydra.run
out.flush
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
warn format("typhoeus_hydra: %d pages, %d errors, crawl %.2fs", pages, errors, elapsed)
