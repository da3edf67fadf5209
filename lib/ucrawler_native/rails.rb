# frozen_string_literal: true

# The Rails glue: `gem "ucrawler_native", require: "ucrawler_native/rails"` in a Gemfile (or
# `require "ucrawler_native/rails"`). Loads the model concern, error hooks, logging (the log
# subscriber, attached by the Railtie) and the process-wide crawler registry; the jobs load
# when first referenced (ActiveJob and Sidekiq are only required then); the Railtie when Rails
# is loaded.
require_relative "../ucrawler_native"
require "active_support"
require "active_support/core_ext/object/blank"
require "active_support/core_ext/enumerable"
require_relative "settings"
require_relative "error_reporting"
require_relative "log_subscriber"
require_relative "registry"
require_relative "model_crawl"
require_relative "model"
require_relative "job_runner"

module UcrawlerNative
  autoload :CrawlJob, File.expand_path("crawl_job", __dir__)
  autoload :SidekiqWorker, File.expand_path("sidekiq_worker", __dir__)
end

require_relative "railtie" if defined?(::Rails::Railtie)
