# frozen_string_literal: true

# Shared by the Ruby peers (ruby_pool.rb, typhoeus_hydra.rb, site_crawl.rb): the same crawl rules
# every crawler in the benchmark follows — links from <a href> (whitespace stripped), resolved
# against the page URL, fragment removed, http(s) on the seed's host:port only, dedup on the
# resulting string, robots.txt obeyed. No Ruby peer has a robots.txt library in Debian, so a
# minimal parser reads the `User-agent: *` group's Disallow/Allow prefixes (longest match
# wins), which is all the test site's robots.txt uses.
require "uri"

module PeerCommon
  module_function

  # robots.txt body → a lambda path → allowed?
  def robots_rules(body)
    rules = []
    applies = false
    in_agents = false
    body.to_s.each_line do |line|
      field, value = line.sub(/#.*/, "").strip.split(":", 2).map { |s| s.to_s.strip }
      next if field.nil? || field.empty?

      case field.downcase
      when "user-agent"
        applies = false unless in_agents
        applies ||= value == "*"
        in_agents = true
      when "disallow", "allow"
        in_agents = false
        rules << [field.downcase == "allow", value] if applies && !value.empty?
      else
        in_agents = false
      end
    end
    lambda do |path|
      best = rules.select { |_, prefix| path.start_with?(prefix) }.max_by { |allow, prefix| [prefix.size, allow ? 1 : 0] }
      best.nil? || best[0]
    end
  end

  # The absolute URL of `href` on `base` (a URI), or nil if it leaves the site or is no HTTP(S).
  def resolve(base, href, origin)
    url = base.merge(href.strip)
    return nil unless url.is_a?(URI::HTTP) && "#{url.host}:#{url.port}" == origin

    url.fragment = nil
    url.path = "/" if url.path.empty?
    url
  rescue URI::Error
    nil
  end

  def origin(uri)
    "#{uri.host}:#{uri.port}"
  end

  # "URL\tTITLE\n"
  def line(url, title)
    "#{url}\t#{title.to_s.strip.tr("\t\n", "  ")}\n"
  end
end
