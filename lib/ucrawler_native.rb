# frozen_string_literal: true

require "json"
require_relative "ucrawler_native/version"
require_relative "ucrawler_native/error"

begin
  # Installed gem: the extension sits in the gem's extension dir under ucrawler_native/.
  require "ucrawler_native/ucrawler_native"
rescue LoadError
  # Development checkout after `rake compile`.
  require_relative "ucrawler_native/ucrawler_native"
end

require_relative "ucrawler_native/settings"
require_relative "ucrawler_native/meta"
require_relative "ucrawler_native/options"
require_relative "ucrawler_native/page"
require_relative "ucrawler_native/seeds"
require_relative "ucrawler_native/running_crawls"
require_relative "ucrawler_native/crawler"
require_relative "ucrawler_native/redis_frontier"

# A web crawler whose engine is Rust: HTTP, decompression, HTML parsing, frontier and dedup live
# outside the Ruby heap under configured memory bounds; Ruby receives compact pages in a block.
module UcrawlerNative
  # The dashboard (a Rack app: needs rack, which every Rails or Sidekiq app has), loaded when
  # first named: `mount UcrawlerNative::Web => "/crawler"`.
  autoload :Web, File.expand_path("ucrawler_native/web", __dir__)
end
