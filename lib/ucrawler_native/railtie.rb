# frozen_string_literal: true

require "rails/railtie"

module UcrawlerNative
  # `config.ucrawler_native` (in config/application.rb, an environment file or an initializer)
  # holds default crawler options for model crawls and jobs:
  #
  #   config.ucrawler_native.per_host = 4
  #   config.ucrawler_native.user_agent = "MyApp crawler (+https://example.com/bot)"
  #
  # They are read after config/initializers/*.rb ran, and validated then (an unknown option or a
  # wrong type stops the boot, naming it).
  # UcrawlerNative.logger is Rails.logger unless you set another; LogSubscriber writes a line
  # per crawl and per job there (and per page at DEBUG).
  # `bin/rails generate ucrawler_native:install [MODEL]`: lib/generators/ucrawler_native/install.
  class Railtie < ::Rails::Railtie
    config.ucrawler_native = ActiveSupport::OrderedOptions.new

    initializer "ucrawler_native.defaults", after: :load_config_initializers do |app|
      UcrawlerNative.defaults = app.config.ucrawler_native.to_h
    end

    # Before config/initializers: an app may detach it there (`UcrawlerNative::LogSubscriber
    # .detach_from(:ucrawler_native)`; the crawl line is then written by the crawl itself).
    initializer "ucrawler_native.log_subscriber" do
      UcrawlerNative::LogSubscriber.attach_to(:ucrawler_native) unless UcrawlerNative::LogSubscriber.attached?
    end

    # `rake -T ucrawler`: crawl, enqueue, status, check.
    rake_tasks do
      require_relative "tasks"
      load File.expand_path("tasks/ucrawler.rake", __dir__)
    end
  end
end
